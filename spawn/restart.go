package spawn

import (
	"errors"
	"time"
)

// RestartMode says when a service that exited is started again.
type RestartMode int

const (
	RestartNever     RestartMode = iota // the default
	RestartOnFailure                    // after a non-zero exit or a signal
	RestartAlways                       // after any exit not asked for by Terminate
)

// RestartPolicy configures WithRestart. Zero Backoff means 100 ms, zero
// MaxBackoff 10 s; Limit 0 means no limit.
type RestartPolicy struct {
	Mode       RestartMode
	Backoff    time.Duration // wait before the first restart; doubles each time
	MaxBackoff time.Duration
	Limit      int // restarts at most this many times
}

// WithRestart restarts a service that exits on its own, with exponential
// backoff. The Handle follows the new process (PID changes); calls made
// during the gap fail at once with controller.ErrNoService rather than
// hang. Restarts are logged and counted (Handle.Restarts). Terminate stops
// restarting.
func WithRestart(p RestartPolicy) Option { return func(o *options) { o.restart = p } }

func (p RestartPolicy) wants(err error) bool {
	switch p.Mode {
	case RestartAlways:
		return true
	case RestartOnFailure:
		var ee *ExitError
		return err != nil && (!errors.As(err, &ee) || !ee.Requested)
	}
	return false
}

func (p RestartPolicy) backoff(attempt int) time.Duration {
	d := p.Backoff
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	max := p.MaxBackoff
	if max <= 0 {
		max = 10 * time.Second
	}
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
