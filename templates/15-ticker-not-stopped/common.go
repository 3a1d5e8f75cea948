// Seed Bug 15: a time.Ticker that is never stopped. Shared by both variants.
package scenario

import (
	"context"
	"strconv"
	"time"

	"gcfuzzprog/probe"
)

// Worker is the seed's worker; State stands for its ~1 MiB of state
// (filled with state_entries entries, so a pinned worker would show).
type Worker struct{ State map[string]int }

var tickPeriod = time.Second

func (w *Worker) collectMetrics() {}

// New starts nothing: each round spawns `workers` workers, cancels them at
// once (as the seed's main does) and lets them return.
func New(e *probe.Env) probe.Scenario {
	workers := e.Int("workers")
	entries := e.Int("state_entries")
	settle := e.Millis("settle_ms")
	tickPeriod = e.Millis("tick_ms")
	spawned := e.Counter("workers")
	keys := make([]string, entries)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return probe.Scenario{Round: func(int) {
		for i := 0; i < workers; i++ {
			ctx, cancel := context.WithCancel(context.Background())
			w := &Worker{State: make(map[string]int, entries)}
			for j, k := range keys {
				w.State[k] = j
			}
			go w.Run(ctx)
			cancel()
			spawned.Add(1)
		}
		// The workers return as soon as they see ctx.Done(); give them
		// the time to do so before the probe samples.
		time.Sleep(settle)
	}}
}
