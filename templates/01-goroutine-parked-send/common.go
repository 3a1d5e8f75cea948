// Seed Bug 1: a goroutine parked forever on an unbuffered send, under real
// net/http load on loopback. Shared by both variants.
package scenario

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"gcfuzzprog/probe"
)

// Result is the seed's result; Body is body_kib KiB (1 MiB in the seed).
type Result struct{ Body []byte }

var (
	bodySize int
	timeout  time.Duration
	slowWork time.Duration
)

// fill stands for the seed's "... fill body ...": a request marked slow
// takes longer than the handler's timeout.
func fill(r *http.Request, body []byte) {
	for i := range body {
		body[i] = byte(i)
	}
	if r.URL.Query().Get("slow") == "1" {
		time.Sleep(slowWork)
	}
}

// New starts an HTTP server on loopback. Each round sends `requests`
// requests from `clients` concurrent clients; every `slow_every`-th one
// is slow, so the handler times out on it.
func New(e *probe.Env) probe.Scenario {
	bodySize = e.Int("body_kib") << 10
	timeout = e.Millis("timeout_ms")
	slowWork = e.Millis("slow_ms")
	requests := e.Int("requests")
	clients := e.Int("clients")
	slowEvery := e.Int("slow_every")
	settle := e.Millis("settle_ms")
	sent := e.Counter("requests")
	timeouts := e.Counter("timeouts")
	failures := e.Counter("failures")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(handler)}
	go srv.Serve(ln)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	base := "http://" + ln.Addr().String() + "/?slow="

	next := 0
	return probe.Scenario{
		Round: func(int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			work := make(chan string, requests)
			for i := 0; i < requests; i++ {
				slow := "0"
				if slowEvery > 0 && next%slowEvery == 0 {
					slow = "1"
				}
				next++
				work <- base + slow + "&n=" + strconv.Itoa(next)
			}
			close(work)
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for url := range work {
						resp, err := client.Get(url)
						if err != nil {
							mu.Lock()
							failures.Add(1)
							mu.Unlock()
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						sent.Add(1)
						if resp.StatusCode == http.StatusGatewayTimeout {
							timeouts.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			// The slow workers of a fixed handler finish slow_ms after
			// their request timed out; wait for them before sampling.
			time.Sleep(settle)
		},
		Close: func() {
			client.CloseIdleConnections()
			srv.Shutdown(context.Background())
		},
	}
}
