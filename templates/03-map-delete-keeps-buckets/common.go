// Seed Bug 3: a map emptied by delete keeps its peak bucket storage.
// Shared by both variants.
package scenario

import (
	"runtime"
	"runtime/metrics"
	"strconv"

	"gcfuzzprog/probe"
)

// Session is the seed's.
type Session struct{ Data [4096]byte }

var sessions = make(map[string]*Session)

func key(i int) string { return "session-" + strconv.Itoa(i) }

// New fills the seed's global sessions map and reaps it, `cycles` times per
// round. Round i stores sessions_step<<i sessions: every round's peak is the
// largest so far, and doubling it keeps the map's load factor the same
// from round to round, so what the reaped map keeps grows in proportion to
// the peak instead of in power-of-two steps.
//
// With expire_by_key=1 the sessions first expire one by one, each with
// delete(sessions, key), as the seed's story has it; the seed's reapAll
// then finds the map empty.
func New(e *probe.Env) probe.Scenario {
	step := e.Int("sessions_step")
	cycles := e.Int("cycles")
	byKey := e.Int("expire_by_key") != 0
	peak := e.Counter("peak_sessions")
	peakLive := e.Counter("peak_live_bytes")
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	sessions = make(map[string]*Session)
	return probe.Scenario{Round: func(i int) {
		n := step << i
		for c := 0; c < cycles; c++ {
			for j := 0; j < n; j++ {
				sessions[key(j)] = &Session{}
			}
			if c == cycles-1 {
				// The live heap at the peak, so the reaped map's share
				// of it shows: the seed says HeapInuse "barely drops".
				runtime.GC()
				metrics.Read(live)
				peakLive.Add(int64(live[0].Value.Uint64()) - peakLive.Load())
			}
			if byKey {
				for j := 0; j < n; j++ {
					delete(sessions, key(j))
				}
			}
			reapAll()
			if len(sessions) != 0 {
				panic("sessions not reaped")
			}
		}
		peak.Add(int64(n) - peak.Load())
	}}
}
