package scenario

// extractToken is the seed's code: the token shares the body's array.
func extractToken(body []byte) []byte {
	i := tokenStart(body)
	return body[i : i+20] // BUG: shares the backing array
}
