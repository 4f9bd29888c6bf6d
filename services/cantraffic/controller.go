package cantraffic

import (
	"context"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

// DefaultName is the service name of a CANTrafficService, unless it was
// spawned with another (spawn.WithName).
const DefaultName = "CAN_TRAFFIC_SERVICE"

// Controller calls a CANTrafficService by name.
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

// Start starts sending.
func (c *Controller) Start(ctx context.Context) error { return c.Call(ctx, "start", nil, nil) }

// Stop stops sending.
func (c *Controller) Stop(ctx context.Context) error { return c.Call(ctx, "stop", nil, nil) }

// Stats returns the service's counters and the state of its mode.
func (c *Controller) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.Call(ctx, "stats", nil, &st)
	return st, err
}

// SetGap sets the generator's gap in milliseconds.
func (c *Controller) SetGap(ctx context.Context, gapMS float64) error {
	return c.Call(ctx, "set_gap", gapMS, nil)
}

// SetPayload changes the payload of a cyclic message.
func (c *Controller) SetPayload(ctx context.Context, a SetPayloadArgs) error {
	return c.Call(ctx, "set_payload", a, nil)
}

// SetSignal changes a signal of a rest-bus message.
func (c *Controller) SetSignal(ctx context.Context, a SetSignalArgs) error {
	return c.Call(ctx, "set_signal", a, nil)
}

// Signals returns the current values of the rest-bus signals, by message
// and signal name.
func (c *Controller) Signals(ctx context.Context) (map[string]map[string]float64, error) {
	var v map[string]map[string]float64
	err := c.Call(ctx, "signals", nil, &v)
	return v, err
}
