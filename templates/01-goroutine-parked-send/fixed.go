package scenario

import (
	"net/http"
	"time"
)

// handler is the seed's fix: a buffered channel, and the worker also gives
// up when the request's context ends.
func handler(w http.ResponseWriter, r *http.Request) {
	out := make(chan Result, 1)
	go func() {
		body := make([]byte, bodySize)
		fill(r, body)
		select {
		case out <- Result{Body: body}:
		case <-r.Context().Done():
		}
	}()
	select {
	case res := <-out:
		w.Write(res.Body)
	case <-time.After(timeout):
		http.Error(w, "timeout", http.StatusGatewayTimeout)
		return
	}
}
