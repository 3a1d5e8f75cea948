package scenario

import (
	"context"
	"time"
)

// Run is the seed's code: the ticker is never stopped.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(tickPeriod)
	// BUG: no defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.collectMetrics()
		case <-ctx.Done():
			return
		}
	}
}
