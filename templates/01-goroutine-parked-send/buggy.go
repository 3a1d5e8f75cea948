package scenario

import (
	"net/http"
	"time"
)

// handler is the seed's code: the result channel is unbuffered.
func handler(w http.ResponseWriter, r *http.Request) {
	out := make(chan Result) // unbuffered
	go func() {
		body := make([]byte, bodySize)
		fill(r, body)
		out <- Result{Body: body} // blocks forever if caller times out
	}()
	select {
	case res := <-out:
		w.Write(res.Body)
	case <-time.After(timeout):
		http.Error(w, "timeout", http.StatusGatewayTimeout)
		return // goroutine still parked on the send
	}
}
