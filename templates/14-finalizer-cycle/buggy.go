package scenario

import "runtime"

// NewNode is the seed's New (renamed: New is the scenario's constructor):
// every node gets a finalizer.
func NewNode(name string) *Node {
	n := &Node{Name: name}
	runtime.SetFinalizer(n, func(n *Node) {
		finalizerRan() // the seed prints "finalized <name>"
	})
	setFinalizerDone()
	return n
}

// makePair is the seed's main: two finalizable nodes pointing at each
// other, then dropped.
func makePair() {
	a, b := NewNode("a"), NewNode("b")
	a.Peer = b
	b.Peer = a
	a, b = nil, nil
}
