package ecusim

import (
	"context"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/hexid"
)

// Name is the default service name of the ECU simulator, derived from
// ECUSimService.
const Name = "ECU_SIM_SERVICE"

// Controller calls an ECU simulator's methods.
type Controller struct{ *controller.Controller }

// Connect returns a controller for the ECU simulator called name on b; ""
// means the default name, ECU_SIM_SERVICE.
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

// Session returns the active diagnostic session and the S3 expiries.
func (c *Controller) Session(ctx context.Context) (SessionInfo, error) {
	var v SessionInfo
	return v, c.Call(ctx, "session", nil, &v)
}

// Stats returns the counters.
func (c *Controller) Stats(ctx context.Context) (Stats, error) {
	var v Stats
	return v, c.Call(ctx, "stats", nil, &v)
}

// SetDID sets the value (hex) of a data identifier.
func (c *Controller) SetDID(ctx context.Context, did hexid.ID, data string) error {
	return c.Call(ctx, "set_did", DIDValue{DID: did, Data: data}, nil)
}

// GetDID returns the value (hex) of a data identifier.
func (c *Controller) GetDID(ctx context.Context, did hexid.ID) (string, error) {
	var v DIDValue
	err := c.Call(ctx, "get_did", did, &v)
	return v.Data, err
}

// DoIPAddress returns the TCP address of the DoIP entity, "" without DoIP.
func (c *Controller) DoIPAddress(ctx context.Context) (string, error) {
	var v string
	return v, c.Call(ctx, "doip_address", nil, &v)
}
