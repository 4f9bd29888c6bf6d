package canmonitor

import (
	"context"
	"iter"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

// DefaultName is the service name of a CANMonitorService, unless it was
// spawned with another (spawn.WithName).
const DefaultName = "CAN_MONITOR_SERVICE"

// Controller calls a CANMonitorService by name.
type Controller struct{ *controller.Controller }

// Connect returns a controller for the service called name on b; "" means
// DefaultName.
func Connect(ctx context.Context, b *bus.Bus, name string, opts ...controller.Option) (*Controller, error) {
	if name == "" {
		name = DefaultName
	}
	c, err := controller.Connect(ctx, b, name, opts...)
	if err != nil {
		return nil, err
	}
	return &Controller{c}, nil
}

// Signal returns the last value of a signal.
func (c *Controller) Signal(ctx context.Context, signal string) (Sample, error) {
	var s Sample
	err := c.Call(ctx, "signal", SignalArgs{Signal: signal}, &s)
	return s, err
}

// WaitSignal waits, at most within, until signal op value holds (op is
// one of == != < <= > >=) and returns the sample that satisfied it.
func (c *Controller) WaitSignal(ctx context.Context, signal, op string, value float64, within time.Duration) (Sample, error) {
	// The call's own deadline is a little later, so that the service's
	// answer (with the last value seen) arrives before it.
	ctx, cancel := context.WithTimeout(ctx, within+time.Second)
	defer cancel()
	var s Sample
	a := WaitArgs{Signal: signal, Op: op, Value: value, TimeoutMS: max(1, int(within/time.Millisecond))}
	err := c.Call(ctx, "wait_signal", a, &s)
	return s, err
}

// Watch streams the changes of the signals f selects, starting with the
// values already known (Initial), until ctx ends or the loop is left.
func (c *Controller) Watch(ctx context.Context, f WatchFilter) iter.Seq2[SignalChange, error] {
	return controller.StreamOf[SignalChange](ctx, c.Controller, "watch", f)
}

// Signals returns the last value of every signal seen.
func (c *Controller) Signals(ctx context.Context) (map[string]map[string]Sample, error) {
	var v map[string]map[string]Sample
	err := c.Call(ctx, "signals", nil, &v)
	return v, err
}

// Stats returns the counters.
func (c *Controller) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.Call(ctx, "stats", nil, &st)
	return st, err
}
