package scenario

import fetch "example.com/shop/fetch/v1"

// client is the shop's old lookup: it never cancels its child contexts.
func client() pricer { return fetch.New() }
