// Package fetch is the shop's price lookup as it was before the fix (the
// same module, example.com/shop, checked out at the commit before): each
// lookup gets its
// own deadline-free child context, "so that a slow backend can be cut
// off", but nothing ever cuts it off. A child of a cancelable context is
// kept in its parent's children set until it is cancelled, so under a
// long-lived server context every lookup leaves one behind.
package fetch

import "context"

// Client looks prices up on behalf of a server whose context lives as
// long as the process.
type Client struct {
	// inflight would let a shutdown cancel lookups; nothing reads it.
	inflight []context.CancelFunc
	prices   map[string]int
}

// New returns a client with a small price table.
func New() *Client {
	return &Client{prices: map[string]int{"tea": 3, "cake": 5}}
}

// Price looks an item up under ctx.
func (c *Client) Price(ctx context.Context, item string) int {
	ctx, cancel := context.WithCancel(ctx)
	// The bug: the cancel func is parked for "later" and the slot reused,
	// so it is never called.
	if len(c.inflight) == 0 {
		c.inflight = append(c.inflight, cancel)
	} else {
		c.inflight[0] = cancel
	}
	return c.lookup(ctx, item)
}

func (c *Client) lookup(ctx context.Context, item string) int {
	if ctx.Err() != nil {
		return -1
	}
	return c.prices[item]
}
