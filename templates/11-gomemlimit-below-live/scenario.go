// Seed Bug 11: GOMEMLIMIT set far below the live set. Both variants run
// this code; they differ only in their GOMEMLIMIT (see pattern.yaml).
package scenario

import "gcfuzzprog/probe"

// weights is the seed's immutable model, live for the whole run.
var weights [][]float64

// sink keeps a scratch slice reachable for a moment, as a real request's
// result would be; see the notes on the seed's `_ = make(...)`.
var sink []float64

// New builds `live_mib` MiB of weights (2 MiB slices, as in the seed),
// then each round does `ops` requests, each allocating a tiny scratch slice.
func New(e *probe.Env) probe.Scenario {
	live := e.Int("live_mib")
	ops := e.Int("ops")
	escape := e.Int("escape") != 0
	done := e.Counter("ops")
	weights = make([][]float64, 0, live/2)
	for i := 0; i < live/2; i++ {
		w := make([]float64, 256*1024) // 2 MiB each
		for j := range w {
			w[j] = float64(j)
		}
		weights = append(weights, w)
	}
	return probe.Scenario{Round: func(int) {
		for n := 0; n < ops; n++ {
			if escape {
				sink = make([]float64, 1024) // tiny scratch per request
			} else {
				_ = make([]float64, 1024) // the seed's line: never leaves the stack
			}
		}
		done.Add(int64(ops))
	}}
}
