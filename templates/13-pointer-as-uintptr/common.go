// Seed Bug 13: a pointer stored as a uintptr, hidden from the GC. Shared by
// both variants.
package scenario

import "gcfuzzprog/probe"

// Node is the seed's node: 136 bytes, the 144-byte size class.
type Node struct {
	Next *Node
	Data [128]byte
}

// churnSink keeps the last churn object reachable for a moment, so the
// allocations are real; kept holds the last head read, as a program that
// uses its list would, so the GC itself may trip over a freed node.
var churnSink, kept *Node

// newNode allocates a node on the heap, as a list's nodes are (a node that
// does not escape would live on the stack, and the GC would never free it).
//
//go:noinline
func newNode(canary byte) *Node {
	n := &Node{}
	for k := range n.Data {
		n.Data[k] = canary
	}
	return n
}

// New pushes `ops` nodes per round. Each is filled with a canary, the only
// reference to it is the list's head, and before the head is read back
// `churn` same-sized objects are allocated (reusing any freed slot) while
// the probe's GC forcer (the configuration's stress gc-ms=-1) runs cycles
// back to back. A head whose canary changed is a node the GC freed and the
// allocator handed out again.
func New(e *probe.Env) probe.Scenario {
	ops := e.Int("ops")
	churn := e.Int("churn")
	keep := e.Int("keep") != 0
	reads := e.Counter("reads")
	corrupted := e.Counter("corrupted")
	l := &List{}
	return probe.Scenario{
		Round: func(round int) {
			bad := int64(0)
			for i := 0; i < ops; i++ {
				canary := byte(i%251) | 1
				l.Push(newNode(canary))
				for c := 0; c < churn; c++ {
					churnSink = &Node{}
				}
				h := l.Head()
				if keep {
					kept = h
				}
				for _, b := range h.Data {
					if b != canary {
						bad++
						break
					}
				}
			}
			reads.Add(int64(ops))
			corrupted.Add(bad)
		},
	}
}
