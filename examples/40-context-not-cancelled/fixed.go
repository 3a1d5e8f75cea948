package scenario

import fetch "example.com/shop/fetch/v2"

// client is the shop's current lookup: each child context is cancelled.
func client() pricer { return fetch.New() }
