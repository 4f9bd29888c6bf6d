package diagtraffic

import (
	"context"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

// Controller calls a diagnostic traffic service's methods.
type Controller struct{ *controller.Controller }

// Connect returns a controller for the service called name on b; "" means
// Name.
func Connect(ctx context.Context, b *bus.Bus, name string, opts ...controller.Option) (*Controller, error) {
	if name == "" {
		name = Name
	}
	c, err := controller.Connect(ctx, b, name, opts...)
	if err != nil {
		return nil, err
	}
	return &Controller{c}, nil
}

// Start begins a run.
func (c *Controller) Start(ctx context.Context) error { return c.Call(ctx, "start", nil, nil) }

// Stop ends the run.
func (c *Controller) Stop(ctx context.Context) error { return c.Call(ctx, "stop", nil, nil) }

// Stats returns the counters.
func (c *Controller) Stats(ctx context.Context) (Stats, error) {
	var v Stats
	return v, c.Call(ctx, "stats", nil, &v)
}
