package diaglink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// DefaultSourceAddress is the tester's DoIP logical address when the
// arguments give none.
const DefaultSourceAddress = hexid.ID(doip.DefaultTesterAddress)

// DialTimeout bounds connecting to a DoIP entity and activating routing.
const DialTimeout = 5 * time.Second

// Config is the link to an ECU that a service's arguments give, with the
// service's defaults applied. With DoIPAddress set the link is DoIP and
// the CAN fields are not used; otherwise it is ISO-TP on Bus.
type Config struct {
	Bus      string   // "virtual:<name>" or "socketcan:<interface>"
	TxID     hexid.ID // CAN identifier of the requests
	RxID     hexid.ID // CAN identifier of the replies
	Extended bool     // 29-bit identifiers
	Padding  *bool    // pad frames to 8 bytes; nil: true
	PadByte  *uint8   // nil: isotp.DefaultPadByte

	DoIPAddress   string   // "host:port" of the DoIP entity
	SourceAddress hexid.ID // the tester's logical address, activated for routing
	TargetAddress hexid.ID // the ECU's logical address; 0: the entity's own
	Functional    bool     // TargetAddress is a functional address
}

// Check checks c once: with DoIPAddress its form, otherwise the bus, the
// identifiers and the padding. Its errors match service.ErrInvalidArgs
// and name the JSON fields of the arguments.
func (c Config) Check() error {
	if c.DoIPAddress != "" {
		if _, port, err := net.SplitHostPort(c.DoIPAddress); err != nil {
			return service.BadArgs("doip_address %q: want host:port", c.DoIPAddress)
		} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return service.BadArgs("doip_address %q: bad port", c.DoIPAddress)
		}
		return nil
	}
	if c.Functional {
		return service.BadArgs("functional is for doip_address; on CAN, tx_id says where requests go")
	}
	if _, err := can.ParseSpec(c.Bus); err != nil {
		return service.BadArgs("bus: %v", err)
	}
	maxID, bits := hexid.ID(can.MaxID), 11
	if c.Extended {
		maxID, bits = can.MaxExtendedID, 29
	}
	switch {
	case c.TxID > maxID:
		return service.BadArgs("tx_id %v exceeds %d bits", c.TxID, bits)
	case c.RxID > maxID:
		return service.BadArgs("rx_id %v exceeds %d bits", c.RxID, bits)
	case c.TxID == c.RxID:
		return service.BadArgs("tx_id and rx_id are both %v", c.TxID)
	case !c.padding() && c.PadByte != nil:
		return service.BadArgs("pad_byte 0x%02X with padding false", *c.PadByte)
	}
	return nil
}

func (c Config) padding() bool { return c.Padding == nil || *c.Padding }

// Link is an open link to an ECU: the transport to send requests on.
type Link struct {
	uds.Transport
	close func() error
}

// Close closes what Open opened: the ISO-TP connection and its bus, or
// the DoIP connection. Only the first call closes; later ones return its
// error.
func (l *Link) Close() error { return l.close() }

// Open opens the link c gives (checked by Check): with DoIPAddress it
// connects to the entity, within DialTimeout, and activates routing for
// SourceAddress; otherwise it opens Bus, on the NATS connection of the
// service's bus when ctx has one (service.BusFrom), and an ISO-TP
// connection on it that receives RxID only.
func (c Config) Open(ctx context.Context) (*Link, error) {
	if c.DoIPAddress != "" {
		return c.dial(ctx)
	}
	return c.openISOTP(ctx)
}

func (c Config) openISOTP(ctx context.Context) (*Link, error) {
	rx := uint32(c.RxID)
	flt := can.Filter{ID: rx, Mask: can.EFFFlag | can.RTRFlag | can.MaxID}
	if c.Extended {
		flt = can.Filter{ID: rx | can.EFFFlag, Mask: can.EFFFlag | can.RTRFlag | can.MaxExtendedID}
	}
	opts := []can.Option{can.WithFilters(flt)}
	if b, ok := service.BusFrom(ctx); ok && b != nil {
		opts = append(opts, can.WithNATS(b.Conn()))
	}
	bus, err := can.Open(ctx, c.Bus, opts...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Bus, err)
	}
	cfg := isotp.Config{TxID: uint32(c.TxID), RxID: rx, Extended: c.Extended, Padding: isotp.NoPadding}
	if c.padding() {
		cfg.Padding = isotp.PadWith(isotp.DefaultPadByte)
		if c.PadByte != nil {
			cfg.Padding = isotp.PadWith(*c.PadByte)
		}
	}
	conn, err := isotp.New(bus, cfg)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("isotp: %w", err), bus.Close())
	}
	return &Link{Transport: conn, close: sync.OnceValue(func() error {
		return errors.Join(conn.Close(), bus.Close())
	})}, nil
}

func (c Config) dial(ctx context.Context) (*Link, error) {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	client, err := doip.Dial(ctx, c.DoIPAddress, doip.ClientConfig{SourceAddress: uint16(c.SourceAddress)})
	if err != nil {
		return nil, err
	}
	ta := uint16(c.TargetAddress)
	if ta == 0 {
		ta = client.EntityAddress()
	}
	t := client.DiagConn(ta)
	if c.Functional {
		t = client.FunctionalConn(ta)
	}
	return &Link{Transport: t, close: sync.OnceValue(client.Close)}, nil
}
