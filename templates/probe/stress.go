package probe

import (
	"flag"
	"runtime"
	"sync/atomic"
	"time"
)

// Stress goroutines run beside the scenario for the whole run, to put the
// runtime in the states GC bugs need: heap churn, write barriers, forced
// cycles, changing GOMAXPROCS, goroutine and timer storms. Each is off
// unless its flag is set; all stop when the run ends.
//
//	-stress-alloc-kib N      allocate and drop N KiB per millisecond
//	-stress-pointers N       keep a linked list of N nodes and rewire it
//	                         constantly (pointer writes: write barriers)
//	-stress-gc-ms D          runtime.GC() every D ms (0: off; <0: back to back)
//	-stress-procs-ms D       flip GOMAXPROCS between 1 and NumCPU every D ms
//	-stress-goroutines N     start N short-lived goroutines per millisecond
//	-stress-timers N         create and stop N timers per millisecond
type stress struct {
	allocKiB   int
	pointers   int
	gcMs       float64
	procsMs    float64
	goroutines int
	timers     int
}

func (s *stress) flags() {
	flag.IntVar(&s.allocKiB, "stress-alloc-kib", 0, "allocation churn, KiB per ms")
	flag.IntVar(&s.pointers, "stress-pointers", 0, "pointer churn: nodes in a constantly rewired list")
	flag.Float64Var(&s.gcMs, "stress-gc-ms", 0, "force a GC every D ms (<0: back to back)")
	flag.Float64Var(&s.procsMs, "stress-procs-ms", 0, "flip GOMAXPROCS every D ms")
	flag.IntVar(&s.goroutines, "stress-goroutines", 0, "short-lived goroutines started per ms")
	flag.IntVar(&s.timers, "stress-timers", 0, "timers created and stopped per ms")
}

// stressSink keeps the last churned allocation reachable for a moment.
var stressSink atomic.Pointer[[]byte]

// start launches the configured stress goroutines; the returned function
// stops them and waits until they have.
func (s *stress) start() (stop func()) {
	done := make(chan struct{})
	var running atomic.Int32
	spawn := func(f func()) {
		running.Add(1)
		go func() {
			defer running.Add(-1)
			f()
		}()
	}
	// every runs f until done, pacing itself by the millisecond: sleeps of
	// a millisecond are coarse but do not decide any signal.
	every := func(period time.Duration, f func()) {
		spawn(func() {
			t := time.NewTicker(period)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					f()
				}
			}
		})
	}
	if s.allocKiB > 0 {
		every(time.Millisecond, func() {
			for i := 0; i < s.allocKiB; i++ {
				b := make([]byte, 1024)
				stressSink.Store(&b)
			}
		})
	}
	if s.pointers > 0 {
		type node struct {
			next *node
			pad  [6]uintptr
		}
		nodes := make([]*node, s.pointers)
		for i := range nodes {
			nodes[i] = &node{}
		}
		x := uint32(1)
		spawn(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for i := 0; i < 1024; i++ {
					x ^= x << 13
					x ^= x >> 17
					x ^= x << 5
					a, b := nodes[x%uint32(len(nodes))], nodes[(x>>8)%uint32(len(nodes))]
					a.next = b // a pointer write: the write barrier runs during marking
					if x%64 == 0 {
						nodes[x%uint32(len(nodes))] = &node{next: b}
					}
				}
				runtime.Gosched()
			}
		})
	}
	if s.gcMs < 0 {
		spawn(func() {
			for {
				select {
				case <-done:
					return
				default:
					runtime.GC()
				}
			}
		})
	} else if s.gcMs > 0 {
		every(time.Duration(s.gcMs*float64(time.Millisecond)), runtime.GC)
	}
	procs := runtime.GOMAXPROCS(0)
	if s.procsMs > 0 {
		high := runtime.NumCPU()
		if high < 2 {
			high = 2
		}
		flip := false
		every(time.Duration(s.procsMs*float64(time.Millisecond)), func() {
			flip = !flip
			if flip {
				runtime.GOMAXPROCS(1)
			} else {
				runtime.GOMAXPROCS(high)
			}
		})
	}
	if s.goroutines > 0 {
		every(time.Millisecond, func() {
			for i := 0; i < s.goroutines; i++ {
				go func() { stressSink.Load() }()
			}
		})
	}
	if s.timers > 0 {
		every(time.Millisecond, func() {
			for i := 0; i < s.timers; i++ {
				t := time.AfterFunc(time.Hour, func() {})
				t.Stop()
			}
		})
	}
	return func() {
		close(done)
		for running.Load() > 0 {
			time.Sleep(time.Millisecond)
		}
		runtime.GOMAXPROCS(procs)
	}
}
