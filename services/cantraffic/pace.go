package cantraffic

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// spinWindow is how long before a deadline waitUntil stops sleeping and
// spins: timers wake up to about a millisecond late on a busy machine, so
// the last stretch is spent yielding in a loop instead. Gaps below it are
// paced by spinning alone.
const spinWindow = 1500 * time.Microsecond

// errWoken reports that a wait was cut short by its wake channel.
var errWoken = errors.New("woken")

// waitUntil returns nil once t is reached, errWoken when wake fires first
// (a nil wake never fires), or ctx's error when ctx ends first. It sleeps
// until spinWindow before t, then yields in a loop.
func waitUntil(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	if d := time.Until(t) - spinWindow; d > 0 {
		tm := time.NewTimer(d)
		select {
		case <-tm.C:
		case <-wake:
			tm.Stop()
			return errWoken
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		}
	}
	for time.Now().Before(t) {
		select {
		case <-wake:
			return errWoken
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		runtime.Gosched()
	}
	return ctx.Err()
}
