// Seed Bug 12: the address of the loop variable escapes into a goroutine.
// Shared by both variants.
package scenario

import (
	"encoding/binary"
	"sync"

	"gcfuzzprog/probe"
)

// Job is the seed's job. The first eight payload bytes carry the job's
// sequence number, so a goroutine that sees another job's payload shows.
type Job struct{ Payload [4096]byte }

// seen counts how often each sequence number was processed in a round.
var (
	seenMu sync.Mutex
	seen   []int32
)

// process reads the payload it was handed, as a real worker would.
func process(j *Job) {
	var sum byte
	for _, b := range j.Payload[8:] {
		sum += b
	}
	id := binary.LittleEndian.Uint64(j.Payload[:8])
	seenMu.Lock()
	if id < uint64(len(seen)) {
		seen[id]++
	}
	seenMu.Unlock()
	_ = sum
}

// New feeds `jobs` jobs per round through handle. "wrong_payload" counts
// the jobs whose own payload no goroutine saw: each is a goroutine that
// processed another job's payload instead (Go before 1.22 shares one
// loop variable across iterations).
func New(e *probe.Env) probe.Scenario {
	jobs := e.Int("jobs")
	done := e.Counter("jobs")
	wrong := e.Counter("wrong_payload")
	seen = make([]int32, jobs)
	return probe.Scenario{Round: func(int) {
		for i := range seen {
			seen[i] = 0
		}
		in := make(chan Job, 64)
		go func() {
			var j Job
			for i := 0; i < jobs; i++ {
				binary.LittleEndian.PutUint64(j.Payload[:8], uint64(i))
				j.Payload[8+i%4000] = byte(i)
				in <- j
			}
			close(in)
		}()
		handle(in)
		missed := int64(0)
		for _, n := range seen {
			if n == 0 {
				missed++
			}
		}
		done.Add(int64(jobs))
		wrong.Add(missed)
	}}
}
