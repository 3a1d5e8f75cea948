// Seed Bug 14: finalizers on a reference cycle. Shared by both variants.
package scenario

import (
	"time"

	"gcfuzzprog/probe"
)

// Node is the seed's node.
type Node struct {
	Name string
	Peer *Node
}

var registered, finalized, unfinalized *probe.Counter

// setFinalizerDone counts a finalizer set with runtime.SetFinalizer.
func setFinalizerDone() {
	registered.Add(1)
	unfinalized.Add(1)
}

// finalizerRan counts a finalizer that ran; in the buggy variant it stands
// for the seed's fmt.Printf("finalized %s\n", n.Name) (the probe owns
// stdout).
func finalizerRan() {
	finalized.Add(1)
	unfinalized.Add(-1)
}

// New builds `pairs` pairs per round with makePair (the seed's main) and
// drops them. After a round it waits settle_ms, so the finalizers the
// probe's GCs queued after the previous round can run.
func New(e *probe.Env) probe.Scenario {
	n := e.Int("pairs")
	settle := e.Millis("settle_ms")
	made := e.Counter("pairs")
	registered = e.Counter("finalizers")
	finalized = e.Counter("finalized")
	unfinalized = e.Counter("unfinalized")
	return probe.Scenario{Round: func(int) {
		for i := 0; i < n; i++ {
			makePair()
			made.Add(1)
		}
		time.Sleep(settle)
	}}
}
