package testerpresent

import (
	"context"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

// DefaultName is the service name of a TesterPresentService, unless it was
// spawned under another one.
const DefaultName = "TESTER_PRESENT_SERVICE"

// Controller calls a TesterPresentService by name.
type Controller struct {
	*controller.Controller
}

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

// Start begins sending.
func (c *Controller) Start(ctx context.Context) error { return c.Call(ctx, "start", nil, nil) }

// Stop stops sending.
func (c *Controller) Stop(ctx context.Context) error { return c.Call(ctx, "stop", nil, nil) }

// IsRunning reports whether requests are being sent.
func (c *Controller) IsRunning(ctx context.Context) (bool, error) {
	var running bool
	err := c.Call(ctx, "is_running", nil, &running)
	return running, err
}

// SetInterval changes the period to ms milliseconds.
func (c *Controller) SetInterval(ctx context.Context, ms int) error {
	return c.Call(ctx, "set_interval", ms, nil)
}

// Stats returns the service's counters.
func (c *Controller) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.Call(ctx, "stats", nil, &st)
	return st, err
}
