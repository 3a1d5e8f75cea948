// Seed Bug 2: a small slice pins the large backing array it was cut from.
// Shared by both variants.
package scenario

import (
	"io"

	"gcfuzzprog/probe"
)

type cache struct{ tokens [][]byte }

func (c *cache) handle(body []byte) {
	c.tokens = append(c.tokens, extractToken(body))
	// body falls out of scope — but is it still alive?
}

func tokenStart(b []byte) int { return len(b) - 25 }

// bodyReader yields n bytes, so io.ReadAll builds each body the way a
// request handler's does (the seed's heap profile blames io.ReadAll).
type bodyReader struct{ n, seq int }

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = byte(r.seq + i)
	}
	r.n -= len(p)
	return len(p), nil
}

// New reads `bodies` bodies of `body_kib` KiB per round and keeps a token
// of each in a cache that lives for the whole run.
func New(e *probe.Env) probe.Scenario {
	bodies := e.Int("bodies")
	size := e.Int("body_kib") << 10
	tokens := e.Counter("tokens")
	c := &cache{}
	return probe.Scenario{Round: func(round int) {
		for i := 0; i < bodies; i++ {
			body, err := io.ReadAll(&bodyReader{n: size, seq: round*bodies + i})
			if err != nil {
				panic(err)
			}
			c.handle(body)
			tokens.Add(1)
		}
	}}
}
