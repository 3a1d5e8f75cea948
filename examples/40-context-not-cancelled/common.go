// A worked example (not one of the seed's sixteen): a child context that
// is never cancelled stays in its long-lived parent's children set. The
// code under test is the shop's own package, in the local module
// example.com/shop (../shop): the buggy variant calls its old version,
// the fixed variant its current one.
package scenario

import (
	"context"

	"gcfuzzprog/probe"
)

// pricer is what both versions of the shop's client offer.
type pricer interface {
	Price(ctx context.Context, item string) int
}

// New serves `lookups` price lookups per round under one server context
// that lives for the whole run, as a server's does.
func New(e *probe.Env) probe.Scenario {
	lookups := e.Int("lookups")
	done := e.Counter("lookups")
	server, stop := context.WithCancel(context.Background())
	c := client()
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
