package scenario

import "sync"

// cache is the seed's: a sync.Pool, whose items the GC drops.
var cache = sync.Pool{
	New: func() any { return computeExpensive() }, // 500 ms
}

// Get is the seed's.
func Get() *ExpensiveResult { return cache.Get().(*ExpensiveResult) }

// Put is the seed's.
func Put(r *ExpensiveResult) { cache.Put(r) }
