package scenario

import "unsafe"

// List is the seed's: the head is stored as a uintptr "to save a word".
type List struct {
	headBits uintptr // store *Node as uintptr to "save a word of header"
}

// Push is the seed's code: a plain word store, no write barrier.
func (l *List) Push(n *Node) {
	// BUG: bypasses the write barrier
	*(*uintptr)(unsafe.Pointer(&l.headBits)) = uintptr(unsafe.Pointer(n))
}

// Head converts the bits back into a pointer.
func (l *List) Head() *Node { return (*Node)(unsafe.Pointer(l.headBits)) }
