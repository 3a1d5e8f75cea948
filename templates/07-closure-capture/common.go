// Seed Bug 7: a closure capture in a hot path. Shared by both variants.
package scenario

import (
	"sort"

	"gcfuzzprog/probe"
)

type Record struct{ Score, ID int }

func sortByScoreThen(records []Record, secondary func(a, b Record) bool) {
	sort.Slice(records, func(i, j int) bool {
		if records[i].Score != records[j].Score {
			return records[i].Score > records[j].Score
		}
		return secondary(records[i], records[j])
	})
}

// New ranks a `records`-long slice for `calls` users per round.
func New(e *probe.Env) probe.Scenario {
	n := e.Int("records")
	calls := e.Int("calls")
	done := e.Counter("calls")
	records := make([]Record, n)
	for i := range records {
		records[i] = Record{Score: (i * 7919) % 13, ID: i}
	}
	user := 0
	return probe.Scenario{Round: func(int) {
		for c := 0; c < calls; c++ {
			RankForUser(records, user)
			user++
		}
		done.Add(int64(calls))
	}}
}
