// A worked example (not one of the seed's sixteen): a child context that
// is never cancelled stays in its long-lived parent's children set. The
// code under test is the shop's own package, example.com/shop/fetch, not
// a copy: both variants run this same file, the buggy one against the
// module as it was before the fix (../shop-before), the fixed one against
// the module as it is (../shop).
package scenario

import (
	"context"

	"example.com/shop/fetch"
	"gcfuzzprog/probe"
)

// New serves `lookups` price lookups per round under one server context
// that lives for the whole run, as a server's does.
func New(e *probe.Env) probe.Scenario {
	lookups := e.Int("lookups")
	done := e.Counter("lookups")
	server, stop := context.WithCancel(context.Background())
	c := fetch.New()
	return probe.Scenario{
		Round: func(round int) {
			for i := 0; i < lookups; i++ {
				if c.Price(server, "tea") != 3 {
					panic("wrong price")
				}
				done.Add(1)
			}
		},
		Close: func() { stop() },
	}
}
