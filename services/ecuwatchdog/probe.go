package ecuwatchdog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// probeWith sends a's probe with c.
func probeWith(ctx context.Context, a *Args, c *uds.Client) (uint8, error) {
	if a.Probe == ProbeSession {
		v, err := c.ReadDataByIdentifier(ctx, DIDActiveSession)
		if err != nil {
			return 0, err
		}
		if len(v) != 1 || v[0] == 0 {
			return 0, fmt.Errorf("DID F186: % X is not a session", v)
		}
		return v[0], nil
	}
	return 0, c.TesterPresent(ctx, false)
}

func newClient(t uds.Transport, a *Args) *uds.Client {
	return uds.NewClient(t, uds.WithP2(time.Duration(a.TimeoutMS)*time.Millisecond))
}

// canProber probes over ISO-TP.
type canProber struct {
	a      *Args
	bus    can.Bus
	conn   *isotp.Conn
	client *uds.Client
}

func newCANProber(ctx context.Context, a *Args, opts []can.Option) (*canProber, error) {
	rx := uint32(a.RxID)
	flt := can.Filter{ID: rx, Mask: can.EFFFlag | can.RTRFlag | can.MaxID}
	if a.Extended {
		flt = can.Filter{ID: rx | can.EFFFlag, Mask: can.EFFFlag | can.RTRFlag | can.MaxExtendedID}
	}
	b, err := can.Open(ctx, a.Bus, append(opts, can.WithFilters(flt))...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", a.Bus, err)
	}
	cfg := isotp.Config{TxID: uint32(a.TxID), RxID: rx, Extended: a.Extended, Padding: isotp.NoPadding}
	if *a.Padding {
		cfg.Padding = isotp.PadWith(isotp.DefaultPadByte)
		if a.PadByte != nil {
			cfg.Padding = isotp.PadWith(*a.PadByte)
		}
	}
	conn, err := isotp.New(b, cfg)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("isotp: %w", err), b.Close())
	}
	return &canProber{a: a, bus: b, conn: conn, client: newClient(conn, a)}, nil
}

func (p *canProber) probe(ctx context.Context) (uint8, error) { return probeWith(ctx, p.a, p.client) }

func (p *canProber) close() error { return errors.Join(p.conn.Close(), p.bus.Close()) }

// dialTimeout bounds one attempt to connect to the DoIP entity.
const dialTimeout = 2 * time.Second

// doipProber probes over DoIP. It dials at the first probe and again after
// a failed dial; the doip.Client reconnects by itself after a lost
// connection.
type doipProber struct {
	a *Args

	mu     sync.Mutex
	c      *doip.Client
	client *uds.Client
	closed bool
}

func newDoIPProber(a *Args) *doipProber { return &doipProber{a: a} }

func (p *doipProber) probe(ctx context.Context) (uint8, error) {
	client, err := p.connect(ctx)
	if err != nil {
		return 0, err
	}
	return probeWith(ctx, p.a, client)
}

func (p *doipProber) connect(ctx context.Context) (*uds.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, doip.ErrClosed
	}
	if p.client != nil {
		return p.client, nil
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := doip.Dial(dctx, p.a.DoIPAddress, doip.ClientConfig{SourceAddress: uint16(p.a.SourceAddress)})
	if err != nil {
		return nil, err
	}
	ta := uint16(p.a.TargetAddress)
	if ta == 0 {
		ta = c.EntityAddress()
	}
	p.c, p.client = c, newClient(c.DiagConn(ta), p.a)
	return p.client, nil
}

func (p *doipProber) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.c == nil {
		return nil
	}
	return p.c.Close()
}
