package isotp

import (
	"context"
	"runtime"
	"time"
)

// spinWindow is how long before a deadline waitUntil stops sleeping and
// starts spinning. Timers wake up to about a millisecond late on many
// systems, so sleeping alone cannot honour sub-millisecond STmin values.
const spinWindow = 2 * time.Millisecond

// waitUntil returns at deadline t, or earlier with ctx's error. It sleeps
// (on tm, a stopped timer it may reuse) until spinWindow before t and
// yields in a loop for the rest, so it returns within microseconds after t.
func waitUntil(ctx context.Context, t time.Time, tm *time.Timer) error {
	done := ctx.Done()
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		if d > spinWindow {
			tm.Reset(d - spinWindow)
			select {
			case <-tm.C:
			case <-done:
				tm.Stop()
				return ctx.Err()
			}
			continue
		}
		for time.Now().Before(t) {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
			runtime.Gosched()
		}
		return nil
	}
}
