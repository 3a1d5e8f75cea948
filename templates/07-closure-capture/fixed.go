package scenario

import "sort"

// sortByScoreThenBias is the seed's fix: bias is a parameter, no nested
// closure.
func sortByScoreThenBias(records []Record, bias int) {
	sort.Slice(records, func(i, j int) bool {
		if records[i].Score != records[j].Score {
			return records[i].Score > records[j].Score
		}
		return (records[i].ID^bias)%1000 < (records[j].ID^bias)%1000
	})
}

// RankForUser calls the fixed sort.
func RankForUser(records []Record, userID int) {
	sortByScoreThenBias(records, userID&0xff)
}
