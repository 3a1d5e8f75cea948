package scenario

// RankForUser is the seed's code: the comparator captures bias.
func RankForUser(records []Record, userID int) {
	bias := userID & 0xff
	sortByScoreThen(records, func(a, b Record) bool {
		return (a.ID^bias)%1000 < (b.ID^bias)%1000 // captures bias
	})
}
