package scenario

import "sync"

// handle is the seed's code: each goroutine captures &job, the loop
// variable itself.
func handle(in <-chan Job) {
	var wg sync.WaitGroup
	for job := range in {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process(&job) // BUG
		}()
	}
	wg.Wait()
}
