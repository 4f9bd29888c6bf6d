package service

import (
	"context"
	"sync"
	"time"
)

// callCtx is the ctx of a call whose caller sent a deadline. Most methods
// never wait on their ctx, so the timer behind Done is made only when
// Done or Err is first asked for; Deadline answers without it. end, when
// the call returns, cancels it (or, if no timer was made, makes it
// report Canceled from then on), as context.WithTimeout's cancel would.
type callCtx struct {
	parent context.Context
	dl     time.Time

	mu     sync.Mutex
	ctx    context.Context // nil until Done or Err, or end
	cancel context.CancelFunc
	ended  bool // ctx is endedCtx
}

func newCallCtx(parent context.Context, d time.Duration) *callCtx {
	return &callCtx{parent: parent, dl: time.Now().Add(d)}
}

func (c *callCtx) real() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.dl)
	}
	return c.ctx
}

// end releases the call's ctx: it is done (Canceled) from now on.
func (c *callCtx) end() {
	c.mu.Lock()
	if c.ctx == nil {
		c.ctx, c.ended = endedCtx, true
		c.mu.Unlock()
		return
	}
	cancel := c.cancel
	c.mu.Unlock()
	cancel()
}

// endedCtx is the ctx of a call that ended before its ctx was waited on.
var endedCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (c *callCtx) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.dl) {
		return pd, true
	}
	return c.dl, true
}

func (c *callCtx) Done() <-chan struct{} { return c.real().Done() }

func (c *callCtx) Err() error { return c.real().Err() }

// Value answers from the real ctx once there is one, so that contexts
// derived from this one find its cancellation (context's own lookup).
func (c *callCtx) Value(key any) any {
	c.mu.Lock()
	ctx, ended := c.ctx, c.ended
	c.mu.Unlock()
	if ctx != nil && !ended {
		return ctx.Value(key)
	}
	return c.parent.Value(key)
}

func (c *callCtx) String() string { return "service call ctx" }
