// Seed Bug 9: Close left to a finalizer on a finalizer-backed net.Conn,
// over real loopback TCP. Shared by both variants.
package scenario

import (
	"net"
	"runtime"
	"time"

	"gcfuzzprog/probe"
)

// Conn is the seed's finalizer-backed handle.
type Conn struct{ c net.Conn }

var finalizerRan, finalizerClosed *probe.Counter

// Dial is the seed's Dial. Its finalizer is the seed's safety net; the
// only addition is counting the finalizers that ran and those whose Close
// actually closed the connection (nil error: nobody had closed it).
func Dial(addr string) (*Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	w := &Conn{c: c}
	runtime.SetFinalizer(w, func(w *Conn) { closedByFinalizer(w.c.Close()) }) // safety net
	return w, nil
}

func closedByFinalizer(err error) {
	finalizerRan.Add(1)
	if err == nil {
		finalizerClosed.Add(1)
	}
}

// serve is the server side: it reads the client's PING and hangs up, so
// a client that never closes its end is left with a socket in CLOSE_WAIT,
// as in the seed.
func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			buf := make([]byte, 4)
			c.SetReadDeadline(time.Now().Add(time.Second))
			for n := 0; n < len(buf); {
				m, err := c.Read(buf[n:])
				if err != nil {
					break
				}
				n += m
			}
			c.Close()
		}()
	}
}

// New starts a TCP listener on loopback. Each round pings it `pings`
// times, one connection per ping, and then waits settle_ms for the server
// to hang up.
func New(e *probe.Env) probe.Scenario {
	pings := e.Int("pings")
	settle := e.Millis("settle_ms")
	sent := e.Counter("pings")
	failed := e.Counter("failures")
	finalizerRan = e.Counter("finalizers_ran")
	finalizerClosed = e.Counter("closed_by_finalizer")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go serve(ln)
	addr := ln.Addr().String()
	return probe.Scenario{
		Round: func(int) {
			for i := 0; i < pings; i++ {
				if err := ping(addr); err != nil {
					failed.Add(1)
					continue
				}
				sent.Add(1)
			}
			time.Sleep(settle)
		},
		Close: func() { ln.Close() },
	}
}
