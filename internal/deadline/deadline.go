package deadline

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// SpinWindow is how long before a deadline a Waiter stops sleeping and
// spins.
const SpinWindow = 1500 * time.Microsecond

// ErrWoken reports a wait cut short by its wake channel.
var ErrWoken = errors.New("deadline: woken")

// Waiter waits for deadlines, reusing one timer. The zero value uses
// time.Now; it is not safe for concurrent use.
type Waiter struct {
	// Now is the clock the deadlines are on (default time.Now).
	Now   func() time.Time
	timer *time.Timer
}

// Until returns nil once the clock reaches t, ErrWoken when wake fires
// first (a nil wake never does), or ctx's error when ctx ends first.
func (w *Waiter) Until(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	now := w.Now
	if now == nil {
		now = time.Now
	}
	done := ctx.Done()
	for {
		d := t.Sub(now())
		switch {
		case d <= 0:
			return nil
		case d > SpinWindow:
			if w.timer == nil {
				w.timer = time.NewTimer(d - SpinWindow)
			} else {
				w.timer.Reset(d - SpinWindow)
			}
			select {
			case <-w.timer.C:
			case <-wake:
				w.timer.Stop()
				return ErrWoken
			case <-done:
				w.timer.Stop()
				return ctx.Err()
			}
		default:
			select {
			case <-wake:
				return ErrWoken
			case <-done:
				return ctx.Err()
			default:
			}
			runtime.Gosched()
		}
	}
}

// Stop releases the Waiter's timer.
func (w *Waiter) Stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// Until waits like Waiter.Until with a Waiter of its own.
func Until(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	var w Waiter
	defer w.Stop()
	return w.Until(ctx, t, wake)
}
