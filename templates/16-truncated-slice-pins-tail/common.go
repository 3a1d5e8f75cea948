// Seed Bug 16: s = s[:0] keeps the pointer-bearing tail alive. Shared by
// both variants.
package scenario

import "gcfuzzprog/probe"

// Customer is the seed's, scaled from 256 KiB to 16 KiB.
type Customer struct{ Profile [16 * 1024]byte }

// Order is the seed's.
type Order struct {
	Customer *Customer
	Total    float64
}

// Batch is the seed's: one is reused across many runs.
type Batch struct{ orders []Order }

// Add is the seed's.
func (b *Batch) Add(o Order) { b.orders = append(b.orders, o) }

// New keeps one Batch for the whole run, as the seed's batch processor
// does. Round i processes `batches` batches of (i+1)*orders_step orders,
// each order with its own Customer: it adds them, totals them and calls
// Reset. Every round's batch is the largest so far, so what Reset leaves
// reachable grows with the peak batch size.
func New(e *probe.Env) probe.Scenario {
	step := e.Int("orders_step")
	batches := e.Int("batches")
	peak := e.Counter("peak_orders")
	b := &Batch{}
	var total float64
	return probe.Scenario{Round: func(i int) {
		n := (i + 1) * step
		for k := 0; k < batches; k++ {
			for j := 0; j < n; j++ {
				b.Add(Order{Customer: &Customer{}, Total: float64(j)})
			}
			for _, o := range b.orders {
				total += o.Total
			}
			b.Reset()
		}
		peak.Add(int64(step))
	}}
}
