package scenario

import "sync"

// handle is the seed's fix: the job is passed to the goroutine by value.
func handle(in <-chan Job) {
	var wg sync.WaitGroup
	for job := range in {
		wg.Add(1)
		go func(job Job) {
			defer wg.Done()
			process(&job) // address of the parameter, on the goroutine's stack
		}(job)
	}
	wg.Wait()
}
