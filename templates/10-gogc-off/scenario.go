// Seed Bug 10: GOGC=off in a long-running loop. Both variants run this
// code; they differ only in their GOGC setting (see pattern.yaml).
package scenario

import (
	"fmt"

	"gcfuzzprog/probe"
)

// New runs the seed's loop for `iters` iterations per round: a cache of
// 1 KiB values bounded at `bound` entries.
func New(e *probe.Env) probe.Scenario {
	iters := e.Int("iters")
	bound := e.Int("bound")
	size := e.Int("value_bytes")
	done := e.Counter("iters")
	cache := make(map[string][]byte)
	i := 0
	return probe.Scenario{Round: func(int) {
		for n := 0; n < iters; n++ {
			k := fmt.Sprintf("key-%d", i)
			cache[k] = make([]byte, size)
			if len(cache) > bound {
				delete(cache, fmt.Sprintf("key-%d", i-bound)) // bounded
			}
			i++
		}
		done.Add(int64(iters))
	}}
}
