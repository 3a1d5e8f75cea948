// Seed Bug 5: a finalizer fires before the last use of its object (no
// runtime.KeepAlive). Shared by both variants.
//
// The seed's C library is simulated in pure Go: a handle is a number, the
// "C side" is a fixed table of descriptor slots (no Go garbage, so it does
// not slow the GC down), and readByte checks its slot after a short
// "syscall", as a read(2) on a closed descriptor fails with EBADF. A closed
// handle seen by readByte is a use after close.
package scenario

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"gcfuzzprog/probe"
)

// File is the seed's wrapper; c is the native handle.
type File struct{ c int64 }

const slotMask = 1<<16 - 1

var (
	nextHandle  atomic.Int64
	slots       [slotMask + 1]atomic.Int64 // h while open, -h once closed
	syscallTime time.Duration
	useAfter    *probe.Counter
)

func openNative() int64 {
	h := nextHandle.Add(1)
	slots[h&slotMask].Store(h)
	return h
}

// closeFile closes h; a slot since reused by a newer handle is left alone.
func closeFile(h int64) { slots[h&slotMask].CompareAndSwap(h, -h) }

// readByte stands for C.read_byte: it blocks in the kernel for a while (a
// real nanosleep(2), as a read would), then touches the descriptor, which
// by then may have been closed by the finalizer.
//
// A blocking system call matters: a goroutine in a syscall is stopped at a
// call, where the GC scans its stack precisely and sees f is dead. A pure
// Go busy loop instead gets preempted asynchronously, and the GC scans that
// innermost frame conservatively, so a stale copy of f keeps it alive and
// the bug never shows (measured: 0 in 21,600 reads).
func readByte(h int64) byte {
	ts := syscall.NsecToTimespec(int64(syscallTime))
	syscall.Nanosleep(&ts, nil)
	if slots[h&slotMask].Load() == -h {
		useAfter.Add(1) // EBADF
		return 0
	}
	return 1
}

// Open is the seed's: the finalizer closes the native handle.
func Open() *File {
	f := &File{c: openNative()}
	runtime.SetFinalizer(f, func(f *File) { closeFile(f.c) })
	return f
}

// New does `reads` Open+ReadByte pairs per round. The pattern's
// configuration runs the probe's GC forcer beside it (stress gc-ms=-1), so
// a collection often lands inside readByte.
func New(e *probe.Env) probe.Scenario {
	reads := e.Int("reads")
	syscallTime = e.Millis("syscall_ms")
	done := e.Counter("reads")
	useAfter = e.Counter("use_after_close")
	return probe.Scenario{Round: func(int) {
		for i := 0; i < reads; i++ {
			f := Open()
			_ = ReadByte(f)
		}
		done.Add(int64(reads))
	}}
}
