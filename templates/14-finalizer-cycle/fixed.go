package scenario

import "runtime"

// Group is the seed's fix: one finalized owner, no finalizer on the
// nodes, and the owner's finalizer breaks the cycle.
type Group struct{ a, b *Node }

func NewGroup() *Group {
	g := &Group{a: &Node{Name: "a"}, b: &Node{Name: "b"}}
	g.a.Peer, g.b.Peer = g.b, g.a
	runtime.SetFinalizer(g, func(g *Group) {
		g.a.Peer, g.b.Peer = nil, nil
		finalizerRan()
	})
	setFinalizerDone()
	return g
}

// makePair builds the pair through its owner and drops it at once, as the
// seed's main drops a and b.
func makePair() {
	NewGroup()
}
