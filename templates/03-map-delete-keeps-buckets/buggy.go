package scenario

// reapAll is the seed's: every key is deleted, the map stays.
func reapAll() {
	for k := range sessions {
		delete(sessions, k) // BUG: doesn't shrink the bucket array
	}
}
