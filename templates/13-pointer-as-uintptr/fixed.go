package scenario

// List is the seed's fix: the head is a pointer.
type List struct{ head *Node }

// Push stores a pointer; the compiler inserts the write barrier.
func (l *List) Push(n *Node) { l.head = n } // barrier inserted automatically

// Head returns the head.
func (l *List) Head() *Node { return l.head }
