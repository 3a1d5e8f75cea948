package scenario

// processBatch is the seed's fix: no runtime.GC(); the pacer decides.
func processBatch(items []Item) []Result {
	results := make([]Result, 0, len(items))
	for _, it := range items {
		results = append(results, transform(it))
	}
	return results
}
