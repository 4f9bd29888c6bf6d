package testerpresent

import (
	"context"
	"errors"
	"time"

	"github.com/bgkit/bgkit/internal/deadline"
)

// clock is where the scheduler reads the time and waits. Tests replace it
// to drive the schedule deterministically.
type clock struct {
	now func() time.Time
	// waitUntil returns nil once t is reached, deadline.ErrWoken when wake fires
	// first, or ctx's error when ctx ends first.
	waitUntil func(ctx context.Context, t time.Time, wake <-chan struct{}) error
}

var systemClock = clock{now: time.Now, waitUntil: deadline.Until}

// schedule calls tick at absolute deadlines base + k·interval, so errors
// in waking up never add up. A deadline missed by half an interval or more
// is skipped (its period is counted, not sent), along with every other
// deadline already past, so a late tick never causes a burst.
type schedule struct {
	clk clock
	// interval returns the current interval; it is read at the start and
	// whenever wake fires.
	interval func() time.Duration
	// wake is signalled when the interval changes.
	wake <-chan struct{}
	// tick sends one request; lateness is how long after its deadline it
	// was called.
	tick func(ctx context.Context, lateness time.Duration)
	// skip counts n periods whose deadlines passed without a tick.
	skip func(n int64)
}

// run ticks at once and then every interval until ctx ends.
//
// When the interval changes, the schedule is rebased on the deadline of
// the last tick: the next tick is due one new interval after it (at once,
// or skipped as above, when that is already past).
func (s *schedule) run(ctx context.Context) {
	iv := s.interval()
	base := s.clk.now()
	var k int64 // index of the next due
	for {
		due := base.Add(time.Duration(k) * iv)
		switch err := s.clk.waitUntil(ctx, due, s.wake); {
		case errors.Is(err, deadline.ErrWoken):
			if niv := s.interval(); niv != iv {
				if k > 0 {
					base = base.Add(time.Duration(k-1) * iv)
					k = 1
				}
				iv = niv
			}
			continue
		case err != nil:
			return
		}
		now := s.clk.now()
		if late := now.Sub(due); late >= iv/2 && late > 0 {
			// The first due not yet past: ceil((now-base)/iv).
			next := int64((now.Sub(base) + iv - 1) / iv)
			s.skip(next - k)
			k = next
			continue
		}
		s.tick(ctx, max(now.Sub(due), 0))
		k++
	}
}
