package probe

import (
	"sync/atomic"
	"time"
)

// Work is a parameter of type work: milliseconds of work per round that
// the probe turns into a count of units, so a reproducer written as
// "churn for 4 seconds" keeps its meaning on any machine and Go version.
// During the calibration rounds (the pattern's warm-up) Do runs the unit
// as many times as fit in the duration; from the first measured round on
// it runs exactly the count the calibration rounds' rate gives (their
// units over their time, times the duration). Samples
// record the count as work_<name>.
type Work struct {
	key    string // work_<name>, the sample's key
	target time.Duration
	env    *Env
	n      atomic.Int64
	units  int64         // units run while calibrating
	spent  time.Duration // and the time they took
}

// Work returns the work parameter called name (declare it in pattern.yaml
// with type: work). Create it in the Factory, not in a round.
func (e *Env) Work(name string) *Work {
	w := &Work{key: "work_" + name, target: e.Millis(name), env: e}
	w.n.Store(1)
	e.mu.Lock()
	e.works = append(e.works, w)
	e.mu.Unlock()
	return w
}

// Do runs unit the round's number of times and returns that number.
func (w *Work) Do(unit func()) int {
	if !w.env.calibrating {
		n := w.n.Load()
		for i := int64(0); i < n; i++ {
			unit()
		}
		return int(n)
	}
	start := time.Now()
	var n int64
	for {
		unit()
		n++
		if time.Since(start) >= w.target {
			break
		}
	}
	// The rate over every calibration round so far, so one round slowed
	// by a GC or a neighbour does not decide alone.
	w.units += n
	w.spent += time.Since(start)
	w.n.Store(max(1, int64(float64(w.units)*float64(w.target)/float64(w.spent)+0.5)))
	return int(n)
}

// N returns the count of the last round (during calibration, of the last
// calibration round so far).
func (w *Work) N() int { return int(w.n.Load()) }
