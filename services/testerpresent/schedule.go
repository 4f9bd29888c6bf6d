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
// (a stall) gets its tick at once, late, and the schedule starts again
// from it; the deadlines passed before the last one are skipped (counted,
// not sent), so a stall never causes a burst and never a gap longer than
// itself.
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
// or late as above, when that is already past).
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
			// Out at once, for the last deadline passed: a keep-alive that
			// waited for the next deadline would leave a gap of two
			// intervals or more, past an ECU's S3 timer. The deadlines
			// passed before it are skipped, not made up (no burst), and
			// the schedule starts again from this request.
			last := int64(now.Sub(base) / iv)
			s.skip(last - k)
			s.tick(ctx, now.Sub(base.Add(time.Duration(last)*iv)))
			base, k = now, 1
			continue
		}
		s.tick(ctx, max(now.Sub(due), 0))
		k++
	}
}
