package probe

import (
	"bytes"
	"runtime"
	"runtime/metrics"
	"time"
)

// settleMax bounds the wait before one sample: a finalizer that blocks
// forever (itself a bug some patterns measure) must not stall the run.
const settleMax = time.Second

// queueMetrics are the runtime's finalizer and cleanup queue counters
// (Go 1.26 and later): queued and executed, finalizers then cleanups.
var queueMetrics = []string{
	"/gc/finalizers/queued:finalizers",
	"/gc/finalizers/executed:finalizers",
	"/gc/cleanups/queued:cleanups",
	"/gc/cleanups/executed:cleanups",
}

// settler waits, before a sample, until the finalizers and cleanups queued
// by the GCs so far have run, so counters their functions move are
// current when sampled.
type settler struct {
	queues []metrics.Sample // nil: this runtime lacks the queue metrics
	stacks []byte           // runtime.Stack's buffer (before Go 1.26)
}

func newSettler() *settler {
	have := map[string]bool{}
	for _, d := range metrics.All() {
		have[d.Name] = true
	}
	st := &settler{}
	for _, name := range queueMetrics {
		if !have[name] {
			return st
		}
		st.queues = append(st.queues, metrics.Sample{Name: name})
	}
	return st
}

// quiet is how long the scenario's counters must stay unchanged, before
// Go 1.26, for the queues to count as drained.
const quiet = 2 * time.Millisecond

// settle returns the time it waited and whether the queues drained within
// settleMax. With the queue metrics it polls them until every queued
// function has run. Before Go 1.26 it waits for two rounds of marker
// objects (a finalizer, and a cleanup from Go 1.24) through a GC each:
// the finalizer goroutine takes its whole queue at once, so once a marker
// queued after the first one has run, every finalizer queued before the
// first has run too. Go 1.25 runs cleanups from a last-in-first-out stack
// of blocks, so a marker says nothing there about older cleanups: the
// wait then also needs no goroutine inside a finalizer or cleanup (Go
// 1.25 shows them in runtime.Stack while they run user code, and only
// then; a descheduled one still counts) and the scenario's counters (what
// the functions move) unchanged, both for `quiet`. The markers' GCs count
// in gc_cycles.
func (st *settler) settle(counters func() uint64) (time.Duration, bool) {
	start := time.Now()
	deadline := start.Add(settleMax)
	if st.queues != nil {
		for {
			metrics.Read(st.queues)
			if st.queues[0].Value.Uint64() <= st.queues[1].Value.Uint64() &&
				st.queues[2].Value.Uint64() <= st.queues[3].Value.Uint64() {
				return time.Since(start), true
			}
			if time.Now().After(deadline) {
				return time.Since(start), false
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	for i := 0; i < 2; i++ {
		if !markerRound(deadline) {
			return time.Since(start), false
		}
	}
	last, since := counters(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			return time.Since(start), false
		}
		time.Sleep(250 * time.Microsecond)
		if now := counters(); now != last || st.running() {
			last, since = now, time.Now()
		}
	}
	return time.Since(start), true
}

// running reports whether a goroutine is inside a finalizer or a cleanup
// (runtime.Stack of all goroutines lists the runtime's finalizer and
// cleanup goroutines only while they run user code; before Go 1.25 their
// frames are hidden, and the markers alone decide).
func (st *settler) running() bool {
	if st.stacks == nil {
		st.stacks = make([]byte, 1<<20)
	}
	n := runtime.Stack(st.stacks, true)
	for n == len(st.stacks) && len(st.stacks) < 64<<20 {
		st.stacks = make([]byte, 2*len(st.stacks))
		n = runtime.Stack(st.stacks, true)
	}
	b := st.stacks[:n]
	return bytes.Contains(b, []byte("runtime.runCleanups(")) || bytes.Contains(b, []byte("runtime.runFinalizers("))
}

// marker is an object with a pointer, so the allocator never batches it
// into a tiny block (whose finalizer might never run).
type marker struct {
	next *marker
	pad  [16]byte
}

// markerRound queues a finalizer (and, from Go 1.24, a cleanup) behind
// everything queued so far and waits for them until the deadline.
func markerRound(deadline time.Time) bool {
	done := make(chan struct{}, 2)
	want := 1
	m := &marker{}
	runtime.SetFinalizer(m, func(*marker) { done <- struct{}{} })
	want += addCleanupMarker(done)
	m = nil
	runtime.GC()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for i := 0; i < want; i++ {
		select {
		case <-done:
		case <-timer.C:
			return false
		}
	}
	return true
}
