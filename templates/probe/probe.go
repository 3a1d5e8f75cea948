// Package probe drives one gcfuzz scenario in rounds and reports what the Go
// runtime did, as versioned JSON lines on stdout.
//
// A gcfuzz program is one binary holding every scenario its build needs
// (the runtime's testprog style): main registers the scenarios and calls
// Main, and the harness picks one with -scenario.
//
// Inputs (flags; the harness sets every one of them):
//
//	-scenario NAME   the scenario to run, "<pattern-id>/<variant>"
//	-rounds N        rounds to run (after which the probe reports "done")
//	-max-wall D      stop after this much wall time, between rounds
//	-gc-per-sample N runtime.GC() calls before each sample (0 keeps the
//	                 runtime's own pacing; 1 makes /gc/heap/live exact)
//	-param K=V       a scenario parameter (repeatable); defaults come from
//	                 the pattern's YAML and are baked into main.go
//	-leakprofile     after the last round, write the goroutineleak profile's
//	                 count ("detector" line; -1 where the runtime lacks it)
//	-heapprofile F   after the last round (and a GC), write a runtime/pprof
//	                 heap profile to F: evidence for `go tool pprof`
//	-calibrate-rounds N  rounds in which work parameters find their
//	                 per-round count (work.go); the pattern's warm-up
//	-settle          before each sample, wait (at most 1 s) until the
//	                 finalizers and cleanups queued so far have run
//	                 (settle.go); samples then carry settle_ns and settled
//	-list            print the scenario names and exit
//	-stress-*        stress goroutines beside the scenario (see stress.go)
//
// Environment knobs (GOGC, GOMEMLIMIT, GOMAXPROCS, GODEBUG) are the
// runtime's own and are read by it, not by the probe.
//
// Protocol, version 1: one JSON object per line, each with "v":1 and
// "type" of "hello", "sample", "detector" or "done". The probe owns stdout: scenarios
// must not write to it. A sample is built in a preallocated buffer and
// runtime/metrics is read into a preallocated slice, so sampling itself
// allocates (next to) nothing and does not perturb the heap it measures.
package probe

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProtocolVersion is the "v" field of every line the probe writes.
const ProtocolVersion = 1

// Scenario is one variant of one pattern, ready to run.
type Scenario struct {
	// Round does one round of the scenario's work. i counts from 0.
	Round func(i int)
	// Close, if set, runs once after the last round.
	Close func()
}

// Factory builds a scenario from its parameters. It may start servers,
// goroutines and whatever else the scenario needs across rounds.
type Factory func(e *Env) Scenario

// Env gives a scenario its parameters and counters.
type Env struct {
	params   map[string]string
	mu       sync.Mutex
	counters []*Counter
	works    []*Work
	// calibrating is true during the rounds in which work parameters
	// find their per-round count (work.go).
	calibrating bool
}

// Counter is a scenario-reported number, sampled after every round.
type Counter struct {
	name string
	v    atomic.Int64
}

// Add adds d to the counter.
func (c *Counter) Add(d int64) { c.v.Add(d) }

// Load returns the counter's value.
func (c *Counter) Load() int64 { return c.v.Load() }

// Counter returns the counter called name, creating it at zero. Create
// counters in the Factory, not in a round: creation allocates.
func (e *Env) Counter(name string) *Counter {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.counters {
		if c.name == name {
			return c
		}
	}
	c := &Counter{name: name}
	e.counters = append(e.counters, c)
	return c
}

// String returns parameter name; a missing parameter is a bug in the
// pattern's YAML and stops the program.
func (e *Env) String(name string) string {
	v, ok := e.params[name]
	if !ok {
		fatalf("scenario asked for parameter %q, which was not given (declare it in pattern.yaml)", name)
	}
	return v
}

// Int returns integer parameter name.
func (e *Env) Int(name string) int {
	s := e.String(name)
	n, err := strconv.Atoi(s)
	if err != nil {
		fatalf("parameter %q: %q is not an integer", name, s)
	}
	return n
}

// Float returns floating-point parameter name.
func (e *Env) Float(name string) float64 {
	s := e.String(name)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		fatalf("parameter %q: %q is not a number", name, s)
	}
	return f
}

// Millis returns parameter name, given in milliseconds, as a duration.
func (e *Env) Millis(name string) time.Duration {
	return time.Duration(e.Float(name) * float64(time.Millisecond))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gcfuzz probe: "+format+"\n", args...)
	os.Exit(3)
}

type paramFlag map[string]string

func (p paramFlag) String() string { return "" }
func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	p[k] = v
	return nil
}

// Main parses the flags, runs the chosen scenario and exits. defaults
// holds each scenario's parameter defaults (from pattern.yaml).
func Main(scenarios map[string]Factory, defaults map[string]map[string]string) {
	name := flag.String("scenario", "", "scenario to run, <pattern-id>/<variant>")
	rounds := flag.Int("rounds", 10, "rounds to run")
	maxWall := flag.Duration("max-wall", 20*time.Second, "stop after this much wall time (checked between rounds)")
	gcPerSample := flag.Int("gc-per-sample", 1, "runtime.GC() calls before each sample")
	list := flag.Bool("list", false, "list scenarios and exit")
	leakProfile := flag.Bool("leakprofile", false, "report the goroutineleak profile after the last round")
	heapProfile := flag.String("heapprofile", "", "after the last round, write a heap profile (runtime/pprof) to this file")
	calibrate := flag.Int("calibrate-rounds", 1, "rounds in which work parameters find their per-round count (work.go)")
	settleQueues := flag.Bool("settle", false, "before each sample, wait (at most 1 s) for the finalizers and cleanups queued so far to run")
	given := paramFlag{}
	flag.Var(given, "param", "scenario parameter KEY=VALUE (repeatable)")
	var st stress
	st.flags()
	flag.Parse()

	if *list {
		names := make([]string, 0, len(scenarios))
		for n := range scenarios {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	if *name == "" && len(scenarios) == 1 {
		for n := range scenarios {
			*name = n
		}
	}
	factory, ok := scenarios[*name]
	if !ok {
		fatalf("unknown scenario %q (run with -list)", *name)
	}
	params := map[string]string{}
	for k, v := range defaults[*name] {
		params[k] = v
	}
	for k, v := range given {
		params[k] = v
	}
	os.Exit(run(*name, factory, params, *rounds, *maxWall, *gcPerSample, *leakProfile, *heapProfile, *settleQueues, *calibrate, &st))
}

func run(name string, factory Factory, params map[string]string, rounds int, maxWall time.Duration, gcPerSample int, leakProfile bool, heapProfile string, settleQueues bool, calibrate int, st *stress) int {
	start := time.Now()
	s := newSampler()
	if settleQueues {
		s.settler = newSettler()
	}
	w := &writer{buf: make([]byte, 0, 4096)}
	w.hello(name, params, s)

	// A round that never returns is a hang the harness's timeout handles;
	// this watchdog only makes sure the probe says so itself first.
	watchdog := time.AfterFunc(2*maxWall+5*time.Second, func() {
		w.done(-1, "watchdog", time.Since(start))
		os.Exit(4)
	})

	env := &Env{params: params}
	sc := factory(env)
	for g := 0; g < gcPerSample; g++ {
		runtime.GC()
	}
	s.settle(env)
	counters := env.snapshotCounters()
	s.read()
	w.sample(-1, time.Since(start), 0, s, counters, env.works)

	stopStress := st.start()
	reason := "rounds"
	done := 0
	for i := 0; i < rounds; i++ {
		if time.Since(start) > maxWall {
			reason = "wall"
			break
		}
		env.calibrating = i < calibrate
		t0 := time.Now()
		sc.Round(i)
		roundNs := time.Since(t0)
		for g := 0; g < gcPerSample; g++ {
			runtime.GC()
		}
		s.settle(env)
		counters = env.snapshotCounters()
		s.read()
		w.sample(i, time.Since(start), roundNs, s, counters, env.works)
		done++
	}
	stopStress()
	if leakProfile {
		// Before Close: a leaked goroutine is one still blocked now.
		w.leaks(countLeaks())
	}
	if heapProfile != "" {
		// Evidence, after the last sample so it cannot disturb one: what
		// the scenario still holds, while it still holds it.
		writeHeapProfile(heapProfile)
	}
	if sc.Close != nil {
		sc.Close()
	}
	watchdog.Stop()
	w.done(done, reason, time.Since(start))
	return 0
}

// writeHeapProfile writes the in-use heap as of a fresh GC; `go tool pprof`
// opens the file. A failure goes to stderr and does not fail the run.
func writeHeapProfile(path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: heap profile: %v\n", err)
	}
}

func (e *Env) snapshotCounters() []*Counter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counters
}

// metric is one runtime/metrics value the probe reports, under a short key.
type metric struct {
	key  string
	name string
}

// The runtime/metrics the probe reports. A name the running runtime does
// not have is left out of every sample (older Go versions lack some).
var wanted = []metric{
	{"heap_live", "/gc/heap/live:bytes"},
	{"heap_objects", "/gc/heap/objects:objects"},
	{"heap_object_bytes", "/memory/classes/heap/objects:bytes"},
	{"total_mem", "/memory/classes/total:bytes"},
	{"goroutines", "/sched/goroutines:goroutines"},
	{"gc_cycles", "/gc/cycles/total:gc-cycles"},
	{"gc_cpu_s", "/cpu/classes/gc/total:cpu-seconds"},
	{"total_cpu_s", "/cpu/classes/total:cpu-seconds"},
	{"alloc_bytes", "/gc/heap/allocs:bytes"},
	{"alloc_objects", "/gc/heap/allocs:objects"},
	{"gogc", "/gc/gogc:percent"},
	{"gomemlimit", "/gc/gomemlimit:bytes"},
	{"gomaxprocs", "/sched/gomaxprocs:threads"},
}

type sampler struct {
	keys    []string
	samples []metrics.Sample
	fdBuf   []byte
	statBuf []byte
	fds     int64
	rss     int64
	cpuNs   int64
	values  []int64
	// settler, when set (-settle), waits for the finalizer and cleanup
	// queues before each sample; the last wait and whether it drained
	// go into the sample.
	settler  *settler
	settleNs int64
	settled  bool
}

// settle waits for the queues when the run asked for it.
func (s *sampler) settle(e *Env) {
	if s.settler == nil {
		return
	}
	d, ok := s.settler.settle(e.fingerprint)
	s.settleNs, s.settled = int64(d), ok
}

// fingerprint folds the counters' values into one number that changes
// when any of them does.
func (e *Env) fingerprint() uint64 {
	h := uint64(14695981039346656037)
	for _, c := range e.snapshotCounters() {
		h = (h ^ uint64(c.Load())) * 1099511628211
	}
	return h
}

func newSampler() *sampler {
	have := map[string]bool{}
	for _, d := range metrics.All() {
		have[d.Name] = true
	}
	s := &sampler{fdBuf: make([]byte, 8192), statBuf: make([]byte, 256)}
	for _, m := range wanted {
		if have[m.name] {
			s.keys = append(s.keys, m.key)
			s.samples = append(s.samples, metrics.Sample{Name: m.name})
		}
	}
	return s
}

func (s *sampler) read() {
	metrics.Read(s.samples)
	if !haveProc {
		return
	}
	s.fds = countFDs(s.fdBuf)
	s.rss = readRSS(s.statBuf)
	s.cpuNs = cpuNanos()
}

// writer builds each line in one reused buffer and writes it with a single
// write, so lines never interleave and sampling allocates nothing.
type writer struct {
	mu  sync.Mutex
	buf []byte
}

func (w *writer) begin(typ string) {
	w.buf = append(w.buf[:0], `{"v":`...)
	w.buf = strconv.AppendInt(w.buf, ProtocolVersion, 10)
	w.buf = append(w.buf, `,"type":"`...)
	w.buf = append(w.buf, typ...)
	w.buf = append(w.buf, '"')
}

func (w *writer) key(k string) {
	w.buf = append(w.buf, ',', '"')
	w.buf = append(w.buf, k...)
	w.buf = append(w.buf, '"', ':')
}

func (w *writer) int(k string, v int64) {
	w.key(k)
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

func (w *writer) str(k, v string) {
	w.key(k)
	w.buf = strconv.AppendQuote(w.buf, v)
}

func (w *writer) flush() {
	w.buf = append(w.buf, '}', '\n')
	os.Stdout.Write(w.buf)
}

func (w *writer) hello(name string, params map[string]string, s *sampler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begin("hello")
	w.str("scenario", name)
	w.str("go", runtime.Version())
	w.str("goos", runtime.GOOS)
	w.str("goarch", runtime.GOARCH)
	w.int("pid", int64(os.Getpid()))
	w.int("num_cpu", int64(runtime.NumCPU()))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.key("params")
	w.buf = append(w.buf, '{')
	for i, k := range keys {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = strconv.AppendQuote(w.buf, k)
		w.buf = append(w.buf, ':')
		w.buf = strconv.AppendQuote(w.buf, params[k])
	}
	w.buf = append(w.buf, '}')
	w.key("metrics")
	w.buf = append(w.buf, '[')
	for i, k := range s.keys {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = strconv.AppendQuote(w.buf, k)
	}
	w.buf = append(w.buf, ']')
	w.flush()
}

func (w *writer) sample(round int, t, roundNs time.Duration, s *sampler, counters []*Counter, works []*Work) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begin("sample")
	w.int("round", int64(round))
	w.int("t_ns", int64(t))
	w.int("round_ns", int64(roundNs))
	for i, k := range s.keys {
		v := s.samples[i].Value
		switch v.Kind() {
		case metrics.KindUint64:
			w.int(k, int64(v.Uint64()))
		case metrics.KindFloat64:
			w.key(k)
			w.buf = strconv.AppendFloat(w.buf, v.Float64(), 'g', -1, 64)
		}
	}
	for _, wk := range works {
		w.int(wk.key, wk.n.Load())
	}
	if s.settler != nil {
		w.int("settle_ns", s.settleNs)
		settled := int64(0)
		if s.settled {
			settled = 1
		}
		w.int("settled", settled)
	}
	if haveProc {
		w.int("fds", s.fds)
		w.int("rss", s.rss)
		w.key("proc_cpu_s")
		w.buf = strconv.AppendFloat(w.buf, float64(s.cpuNs)/1e9, 'g', -1, 64)
	}
	w.key("counters")
	w.buf = append(w.buf, '{')
	for i, c := range counters {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = strconv.AppendQuote(w.buf, c.name)
		w.buf = append(w.buf, ':')
		w.buf = strconv.AppendInt(w.buf, c.Load(), 10)
	}
	w.buf = append(w.buf, '}')
	w.flush()
}

// countLeaks runs the goroutine leak detector (Go 1.26 with
// GOEXPERIMENT=goroutineleakprofile, built in from 1.27): the count of
// goroutines blocked forever on something unreachable, and the first frame
// in the program's own code of the first one; -1 where the profile is
// missing.
func countLeaks() (int, string) {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		return -1, ""
	}
	var b strings.Builder
	if err := p.WriteTo(&b, 1); err != nil {
		return -1, ""
	}
	text := b.String()
	n := 0
	if _, rest, ok := strings.Cut(text, "goroutineleak profile: total "); ok {
		digits, _, _ := strings.Cut(rest, "\n")
		n, _ = strconv.Atoi(strings.TrimSpace(digits))
	}
	where := ""
	for _, line := range strings.Split(text, "\n") {
		if !strings.Contains(line, "gcfuzzprog/s/") {
			continue
		}
		// "#\t0x69921e\tpkg.func+0x7e\t/path/file.go:14"
		f := strings.Split(strings.TrimLeft(line, "#\t "), "\t")
		if len(f) == 3 {
			fn, _, _ := strings.Cut(f[1], "+0x")
			file := f[2][strings.LastIndex(f[2], "/")+1:]
			where = fn + " " + file
		}
		break
	}
	return n, where
}

func (w *writer) leaks(n int, where string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begin("detector")
	w.str("name", "goroutineleak")
	w.int("count", int64(n))
	w.str("where", where)
	w.flush()
}

func (w *writer) done(rounds int, reason string, t time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begin("done")
	w.int("rounds", int64(rounds))
	w.str("reason", reason)
	w.int("t_ns", int64(t))
	w.flush()
}
