package scenario

// Reset is the seed's fix: clear the Orders before truncating.
func (b *Batch) Reset() {
	clear(b.orders) // zeros all elements in [0, len)
	b.orders = b.orders[:0]
}
