package ecuwatchdog

import (
	"context"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

// Controller calls an ECU watchdog's methods.
type Controller struct{ *controller.Controller }

// Connect returns a controller for the watchdog called name on b; "" means
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

// Status returns the state and counters.
func (c *Controller) Status(ctx context.Context) (Status, error) {
	var v Status
	return v, c.Call(ctx, "status", nil, &v)
}

// BlackBox returns the last frames seen on the CAN bus.
func (c *Controller) BlackBox(ctx context.Context) ([]Frame, error) {
	var v []Frame
	return v, c.Call(ctx, "black_box", nil, &v)
}
