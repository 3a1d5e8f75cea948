package scenario

import (
	"context"
	"time"
)

// Run is the seed's fix: the ticker is stopped when Run returns.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(tickPeriod)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.collectMetrics()
		case <-ctx.Done():
			return
		}
	}
}
