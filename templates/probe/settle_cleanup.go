//go:build go1.24

package probe

import "runtime"

// addCleanupMarker queues a cleanup on a fresh object that signals done
// when it runs; it returns how many signals to wait for.
func addCleanupMarker(done chan struct{}) int {
	m := &marker{}
	runtime.AddCleanup(m, func(ch chan struct{}) { ch <- struct{}{} }, done)
	return 1
}
