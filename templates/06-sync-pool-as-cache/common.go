// Seed Bug 6: sync.Pool used as a long-term cache. Shared by both variants.
package scenario

import (
	"runtime"
	"time"

	"gcfuzzprog/probe"
)

// ExpensiveResult is the seed's.
type ExpensiveResult struct{ Computed [1 << 20]byte }

// computed counts calls to computeExpensive: the Gets the cache missed.
var computed int64

// computeExpensive is the seed's (500 ms there; here only the 1 MiB
// allocation, the calls are counted instead of timed).
func computeExpensive() *ExpensiveResult {
	computed++
	return &ExpensiveResult{}
}

// New does `gets` Get/Put pairs per round, as the seed's main loop does,
// with garbage collections between a Put and the next Get where the seed
// sleeps 10 s. The GCs are forced (runtime.GC) so their number is exact:
// gcs_between before every other Get, exactly one before the rest, counted
// apart, to tell the pool's victim cache (which survives one GC) from its
// clearing (two). sleep_ms adds the seed's sleep before every Get.
func New(e *probe.Env) probe.Scenario {
	gets := e.Int("gets")
	gcs := e.Int("gcs_between")
	sleep := e.Millis("sleep_ms")
	all := e.Counter("all_gets")
	getsN := e.Counter("gets")
	missesN := e.Counter("misses")
	gets1 := e.Counter("gets_one_gc")
	misses1 := e.Counter("misses_one_gc")
	computed = 0
	return probe.Scenario{Round: func(int) {
		for j := 0; j < gets; j++ {
			n, g, m := gcs, getsN, missesN
			if j%2 == 1 {
				n, g, m = 1, gets1, misses1
			}
			if sleep > 0 {
				time.Sleep(sleep) // the seed's 10 s: does a GC run?
			}
			for k := 0; k < n; k++ {
				runtime.GC() // the seed: "GC will run between iterations"
			}
			before := computed
			r := Get()
			r.Computed[0]++
			Put(r)
			g.Add(1)
			all.Add(1)
			if computed != before {
				m.Add(1)
			}
		}
	}}
}
