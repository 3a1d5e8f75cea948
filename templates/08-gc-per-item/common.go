// Seed Bug 8: runtime.GC() called for every item. Shared by both variants.
package scenario

import (
	"time"

	"gcfuzzprog/probe"
)

type Item struct{}
type Result struct{}

// transform is the seed's: a microsecond of "work". (time.Sleep of a
// microsecond takes far longer on most machines; see the notes.)
func transform(Item) Result { time.Sleep(time.Microsecond); return Result{} }

// live is a modest live heap, so each forced GC has something to mark.
var live [][]byte

// New processes one batch of `items` items per round, over a live heap of
// `live_kib` KiB.
func New(e *probe.Env) probe.Scenario {
	items := e.Int("items")
	for i := 0; i < e.Int("live_kib"); i++ {
		live = append(live, make([]byte, 1024))
	}
	done := e.Counter("items")
	batch := make([]Item, items)
	return probe.Scenario{Round: func(int) {
		_ = processBatch(batch)
		done.Add(int64(items))
	}}
}
