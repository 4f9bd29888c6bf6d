package testerpresent

import (
	"context"
	"sync/atomic"

	"github.com/bgkit/bgkit/services/diaglink"
	"github.com/bgkit/bgkit/uds"
)

// link is an open transport and what closes it.
type link struct {
	t     uds.Transport
	close func() error
}

// link is the link part of a, which diaglink checks and opens.
func (a *Args) link() diaglink.Config {
	return diaglink.Config{Bus: a.Bus, TxID: a.TxID, RxID: a.RxID, Extended: a.Extended, Padding: a.Padding, PadByte: a.PadByte,
		DoIPAddress: a.DoIPAddress, SourceAddress: a.SourceAddress, TargetAddress: a.TargetAddress, Functional: a.Functional}
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
