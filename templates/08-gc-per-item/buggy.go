package scenario

import "runtime"

// processBatch is the seed's code: a full GC after every item.
func processBatch(items []Item) []Result {
	results := make([]Result, 0, len(items))
	for _, it := range items {
		results = append(results, transform(it))
		runtime.GC() // "to keep memory low between items"
	}
	return results
}
