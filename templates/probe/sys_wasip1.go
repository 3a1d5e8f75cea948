//go:build wasip1

package probe

// haveProc: wasip1 has no /proc and no getrusage, so samples leave out
// fds, rss and proc_cpu_s; the wasm host adds its own exact measures
// (linear memory as rss, fuel) to each sample instead.
const haveProc = false

func cpuNanos() int64 { return 0 }

func countFDs([]byte) int64 { return -1 }

func readRSS([]byte) int64 { return -1 }
