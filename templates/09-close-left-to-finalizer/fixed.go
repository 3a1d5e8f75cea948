package scenario

// ping is the seed's fix: Close explicitly; the finalizer is only a
// backstop.
func ping(addr string) error {
	conn, err := Dial(addr)
	if err != nil {
		return err
	}
	defer conn.c.Close()
	_, err = conn.c.Write([]byte("PING"))
	return err
}
