// Seed Bug 4: a finalizer closure that captures its own object. Shared by
// both variants.
package scenario

import (
	"time"

	"gcfuzzprog/probe"
)

// Resource is the seed's resource.
type Resource struct {
	id     int
	closed bool
}

var finalized, unfinalized *probe.Counter

// leaked stands for the seed's fmt.Printf("leaked %d\n", id) (the probe
// owns stdout): it counts a finalizer that ran. Nothing closes a resource
// (as in the seed), so every finalizer that runs gets here.
func leaked(id int) {
	finalized.Add(1)
	unfinalized.Add(-1)
}

// sink keeps the last resource in use until the next one replaces it.
var sink *Resource

// New creates `resources` resources per round through NewResource and
// drops them, as a caller that forgets to Close them would. After a round
// it waits settle_ms, so the finalizers the probe's GCs queued after the
// previous round can run on the finalizer goroutine.
func New(e *probe.Env) probe.Scenario {
	n := e.Int("resources")
	settle := e.Millis("settle_ms")
	created := e.Counter("created")
	finalized = e.Counter("finalized")
	unfinalized = e.Counter("unfinalized")
	next := 0
	return probe.Scenario{Round: func(int) {
		for i := 0; i < n; i++ {
			next++
			sink = NewResource(next)
			created.Add(1)
			unfinalized.Add(1)
		}
		sink = nil
		time.Sleep(settle)
	}}
}
