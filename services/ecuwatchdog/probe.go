package ecuwatchdog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bgkit/bgkit/services/diaglink"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
)

// link is the link part of a, which diaglink checks and opens.
func (a *Args) link() diaglink.Config {
	return diaglink.Config{Bus: a.Bus, TxID: a.TxID, RxID: a.RxID, Extended: a.Extended, Padding: a.Padding, PadByte: a.PadByte,
		DoIPAddress: a.DoIPAddress, SourceAddress: a.SourceAddress, TargetAddress: a.TargetAddress}
}

// errBadReply marks a probe's reply that came but is not what the probe
// asked: the ECU is alive.
var errBadReply = errors.New("malformed reply")

// malformed reports whether err is about a reply that came but is not
// what the probe asked (a codec error, errBadReply): the ECU answered.
func malformed(err error) bool {
	for _, e := range []error{errBadReply, uds.ErrTruncated, uds.ErrTrailingData, uds.ErrWrongService, uds.ErrInvalidValue} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// probeWith sends a's probe with c.
func probeWith(ctx context.Context, a *Args, c *uds.Client) (uint8, error) {
	if a.Probe == ProbeSession {
		v, err := c.ReadDataByIdentifier(ctx, DIDActiveSession)
		if err != nil {
			return 0, err
		}
		if len(v) != 1 || v[0] == 0 {
			return 0, fmt.Errorf("DID F186: % X is not a session: %w", v, errBadReply)
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
	link   *diaglink.Link
	client *uds.Client
}

func newCANProber(ctx context.Context, a *Args) (*canProber, error) {
	l, err := a.link().Open(ctx)
	if err != nil {
		return nil, err
	}
	return &canProber{a: a, link: l, client: newClient(l, a)}, nil
}

func (p *canProber) probe(ctx context.Context) (uint8, error) { return probeWith(ctx, p.a, p.client) }

func (p *canProber) close() error { return p.link.Close() }

// dialTimeout bounds one attempt to connect to the DoIP entity (shorter
// than diaglink.DialTimeout, so that probes go on while the ECU is away).
const dialTimeout = 2 * time.Second

// doipProber probes over DoIP. It dials at the first probe and again after
// a failed dial; the doip.Client reconnects by itself after a lost
// connection.
type doipProber struct {
	a *Args

	mu     sync.Mutex
	link   *diaglink.Link
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
	l, err := p.a.link().Open(dctx)
	if err != nil {
		return nil, err
	}
	p.link, p.client = l, newClient(l, p.a)
	return p.client, nil
}

func (p *doipProber) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.link == nil {
		return nil
	}
	return p.link.Close()
}
