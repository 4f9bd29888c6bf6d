package testerpresent

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// dialTimeout bounds connecting to a DoIP entity and activating routing.
const dialTimeout = 5 * time.Second

// link is an open transport and what closes it.
type link struct {
	t     uds.Transport
	close func() error
}

// openCAN opens the CAN bus and an ISO-TP connection on it.
func openCAN(ctx context.Context, a *Args) (link, error) {
	rx := uint32(a.RxID)
	flt := can.Filter{ID: rx, Mask: can.EFFFlag | can.RTRFlag | can.MaxID}
	if a.Extended {
		flt = can.Filter{ID: rx | can.EFFFlag, Mask: can.EFFFlag | can.RTRFlag | can.MaxExtendedID}
	}
	opts := []can.Option{can.WithFilters(flt)}
	if b, ok := service.BusFrom(ctx); ok && b != nil {
		opts = append(opts, can.WithNATS(b.Conn()))
	}
	bus, err := can.Open(ctx, a.Bus, opts...)
	if err != nil {
		return link{}, fmt.Errorf("open %s: %w", a.Bus, err)
	}
	cfg := isotp.Config{TxID: uint32(a.TxID), RxID: rx, Extended: a.Extended, Padding: isotp.NoPadding}
	if *a.Padding {
		cfg.Padding = isotp.PadWith(*a.PadByte)
	}
	conn, err := isotp.New(bus, cfg)
	if err != nil {
		return link{}, errors.Join(err, bus.Close())
	}
	return link{t: conn, close: func() error { return errors.Join(conn.Close(), bus.Close()) }}, nil
}

// openDoIP connects to the DoIP entity and activates routing.
func openDoIP(ctx context.Context, a *Args) (link, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := doip.Dial(ctx, a.DoIPAddress, doip.ClientConfig{SourceAddress: uint16(a.SourceAddress)})
	if err != nil {
		return link{}, err
	}
	d := c.DiagConn(uint16(a.TargetAddress))
	if a.Functional {
		d = c.FunctionalConn(uint16(a.TargetAddress))
	}
	return link{t: d, close: c.Close}, nil
}

// counting counts the messages its transport sent.
type counting struct {
	uds.Transport
	sent *atomic.Uint64
}

func (c counting) Send(ctx context.Context, msg []byte) error {
	err := c.Transport.Send(ctx, msg)
	if err == nil {
		c.sent.Add(1)
	}
	return err
}
