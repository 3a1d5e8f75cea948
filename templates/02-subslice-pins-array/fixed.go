package scenario

// extractToken is the seed's fix: the token gets its own 20-byte array.
func extractToken(body []byte) []byte {
	out := make([]byte, 20)
	copy(out, body[tokenStart(body):])
	return out
}
