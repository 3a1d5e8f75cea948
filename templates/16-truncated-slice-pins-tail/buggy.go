package scenario

// Reset is the seed's: the length goes to 0, the Orders (and their
// *Customer pointers) stay in the backing array.
func (b *Batch) Reset() {
	b.orders = b.orders[:0] // BUG: doesn't clear pointers in the underlying array
}
