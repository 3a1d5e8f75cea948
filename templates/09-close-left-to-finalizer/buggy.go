package scenario

// ping is the seed's code: the connection is never closed; only the
// finalizer, after some GC, releases it.
func ping(addr string) error {
	conn, err := Dial(addr)
	if err != nil {
		return err
	}
	_, err = conn.c.Write([]byte("PING"))
	return err // BUG: never calls Close
}
