package canrecorder

import (
	"context"
	"iter"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/controller"
)

// DefaultName is the service name of a CANRecorderService, unless it was
// spawned with another (spawn.WithName).
const DefaultName = "CAN_RECORDER_SERVICE"

// Controller calls a CANRecorderService by name.
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

// Start starts recording.
func (c *Controller) Start(ctx context.Context) error { return c.Call(ctx, "start", nil, nil) }

// Stop stops recording; once it returns, the file holds every frame
// received before the call.
func (c *Controller) Stop(ctx context.Context) error { return c.Call(ctx, "stop", nil, nil) }

// Stats returns the recorder's counters.
func (c *Controller) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.Call(ctx, "stats", nil, &st)
	return st, err
}

// Tail streams the recorded frames that pass f (see
// CANRecorderService.Tail) until the loop ends or ctx ends.
func (c *Controller) Tail(ctx context.Context, f TailFilter) iter.Seq2[can.Frame, error] {
	return controller.StreamOf[can.Frame](ctx, c.Controller, "tail", f)
}
