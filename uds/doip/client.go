package doip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultTesterAddress is the tester's logical address a Client uses when
// ClientConfig.SourceAddress is zero (0x0E00, the first external tester
// address).
const DefaultTesterAddress uint16 = 0x0E00

// ClientConfig configures a Client. The zero value is valid.
type ClientConfig struct {
	// SourceAddress is the tester's logical address; zero means
	// DefaultTesterAddress.
	SourceAddress uint16
	// ActivationType is sent in the routing activation request.
	ActivationType ActivationType
	// Version is the protocol version of the messages sent; zero means
	// Version2012. Messages of any version are accepted.
	Version byte
	// MaxPayload is the largest payload accepted from the entity; zero
	// means DefaultMaxPayload.
	MaxPayload uint32
	// Timeout bounds the wait for a routing activation response and for
	// the ACK of a diagnostic message (A_DoIP_Ctrl,
	// A_DoIP_Diagnostic_Message); zero means 2 s.
	Timeout time.Duration
	// DisableReconnect makes Send fail with ErrConnectionLost after the
	// connection ended, instead of dialling again.
	DisableReconnect bool
	// DialContext opens the TCP connection, e.g. (*tls.Dialer).DialContext;
	// nil means a net.Dialer.
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
}

// Client is a tester's TCP connection to a DoIP entity with routing
// activated. Diagnostic messages go through the DiagConn of each target
// address. A goroutine reads the connection: it answers alive check
// requests and hands ACKs and responses to the DiagConns.
//
// When the connection is lost (the entity closed it, reset, or a write
// failed), calls waiting on it fail with ErrConnectionLost, and the next
// DiagConn.Send dials again and activates routing before it sends, unless
// DisableReconnect is set. A message whose ACK was pending when the
// connection was lost is not sent again, since the entity may have
// processed it.
//
// A Client is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	addr string

	dialMu  sync.Mutex // one reconnect at a time
	mu      sync.Mutex
	sess    *session
	entity  uint16
	targets map[uint16]*DiagConn
	fnLast  *DiagConn // the functional DiagConn that sent last; nil after a physical Send
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
}

// Dial connects to the DoIP entity at addr ("host:port", or "host" for
// port 13400) and activates routing. When the entity denies routing the
// error wraps the response's RoutingActivationCode.
func Dial(ctx context.Context, addr string, cfg ClientConfig) (*Client, error) {
	if cfg.SourceAddress == 0 {
		cfg.SourceAddress = DefaultTesterAddress
	}
	if cfg.Version == 0 {
		cfg.Version = Version2012
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultCtrlTimeout
	}
	if cfg.DialContext == nil {
		cfg.DialContext = new(net.Dialer).DialContext
	}
	c := &Client{
		cfg:     cfg,
		addr:    withPort(addr),
		targets: make(map[uint16]*DiagConn),
		closing: make(chan struct{}),
	}
	if _, err := c.connect(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("doip: dial %s: %w", c.addr, err)
	}
	return c, nil
}

// SourceAddress returns the tester's logical address.
func (c *Client) SourceAddress() uint16 { return c.cfg.SourceAddress }

// EntityAddress returns the logical address of the entity, from its last
// routing activation response.
func (c *Client) EntityAddress() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entity
}

// DiagConn returns the diagnostic connection to the target address ta. It
// returns the same DiagConn for the same address.
func (c *Client) DiagConn(ta uint16) *DiagConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.diagConnLocked(ta)
}

// FunctionalConn returns the diagnostic connection to the functional
// (group) address ta, such as 0xE400. ISO 13400-2 has each entity answer a
// functional request from its own logical address, so after its Send this
// DiagConn's Recv returns the diagnostic messages from every source, until
// another DiagConn of the Client sends. It returns the same DiagConn for
// the same address, and makes a DiagConn of ta functional.
func (c *Client) FunctionalConn(ta uint16) *DiagConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.diagConnLocked(ta)
	d.functional = true
	return d
}

// receiver returns the DiagConn that receives a diagnostic message from
// sa: the functional DiagConn that sent last, or the DiagConn of sa.
func (c *Client) receiver(sa uint16) *DiagConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fnLast != nil {
		return c.fnLast
	}
	return c.targets[sa]
}

// sent records that d sent a diagnostic message.
func (c *Client) sent(d *DiagConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fnLast = nil
	if d.functional {
		c.fnLast = d
	}
}

func (c *Client) diagConnLocked(ta uint16) *DiagConn {
	d, ok := c.targets[ta]
	if !ok {
		d = &DiagConn{
			c:      c,
			target: ta,
			ack:    make(chan error, 1),
			rx:     make(chan []byte, rxQueueLen),
		}
		c.targets[ta] = d
	}
	return d
}

// Close closes the connection and waits for the reading goroutine to
// exit. Calls waiting on the Client return ErrClosed. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.closing)
	}
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		s.kill(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// current returns the session in use, which may have ended, or ErrClosed.
func (c *Client) current() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.sess, nil
}

// session returns a live session, reconnecting when allowed.
func (c *Client) session(ctx context.Context) (*session, error) {
	s, err := c.current()
	if err != nil {
		return nil, err
	}
	if s != nil && s.alive() {
		return s, nil
	}
	if c.cfg.DisableReconnect {
		return nil, s.lost()
	}
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	if s, err = c.current(); err != nil || (s != nil && s.alive()) {
		return s, err
	}
	s, err = c.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconnect %s: %w", c.addr, err)
	}
	return s, nil
}

// connect dials, starts the session's reader and activates routing.
func (c *Client) connect(ctx context.Context) (*session, error) {
	conn, err := c.cfg.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	s := &session{
		c:       c,
		conn:    conn,
		w:       msgWriter{conn: conn, version: c.cfg.Version},
		done:    make(chan struct{}),
		routing: make(chan routingResult, 1),
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go s.readLoop()

	resp, err := s.activate(ctx)
	if err == nil && resp.Code != RoutingSuccess {
		err = resp.Code
	}
	if err != nil {
		s.kill(err)
		<-s.done
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.kill(ErrClosed)
		return nil, ErrClosed
	}
	c.sess, c.entity = s, resp.EntityAddress
	return s, nil
}

// session is one TCP connection of a Client.
type session struct {
	c       *Client
	conn    net.Conn
	w       msgWriter
	routing chan routingResult

	once sync.Once
	err  error // why the session ended; read after done is closed
	done chan struct{}
}

type routingResult struct {
	resp RoutingActivationResponse
	err  error
}

func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// lost returns ErrConnectionLost with the reason the session ended.
func (s *session) lost() error {
	if s == nil {
		return ErrConnectionLost
	}
	<-s.done
	if errors.Is(s.err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, s.err)
}

// kill ends the session for reason err; the first reason is kept.
func (s *session) kill(err error) {
	s.once.Do(func() {
		s.err = err
		s.conn.Close()
		close(s.done)
	})
}

// send writes m; a failed write ends the session.
func (s *session) send(ctx context.Context, m Message) error {
	err := s.w.write(ctx, m)
	if err != nil {
		s.kill(fmt.Errorf("write %v: %w", m.PayloadType(), err))
	}
	return err
}

func (s *session) activate(ctx context.Context) (RoutingActivationResponse, error) {
	req := RoutingActivationRequest{
		SourceAddress:  s.c.cfg.SourceAddress,
		ActivationType: s.c.cfg.ActivationType,
	}
	if err := s.send(ctx, req); err != nil {
		return RoutingActivationResponse{}, err
	}
	t := time.NewTimer(s.c.cfg.Timeout)
	defer t.Stop()
	select {
	case r := <-s.routing:
		return r.resp, r.err
	case <-s.done:
		select { // an entity that denies routing closes right after its response
		case r := <-s.routing:
			return r.resp, r.err
		default:
		}
		return RoutingActivationResponse{}, s.lost()
	case <-ctx.Done():
		return RoutingActivationResponse{}, ctx.Err()
	case <-s.c.closing:
		return RoutingActivationResponse{}, ErrClosed
	case <-t.C:
		return RoutingActivationResponse{}, fmt.Errorf("routing activation: %w", ErrTimeout)
	}
}

// clientSupported lists the payload types an entity sends on TCP_DATA.
func clientSupported(t PayloadType) bool {
	switch t {
	case TypeGenericNACK, TypeRoutingActivationResponse, TypeAliveCheckRequest,
		TypeDiagnosticMessage, TypeDiagnosticACK, TypeDiagnosticNACK:
		return true
	}
	return false
}

func (s *session) readLoop() {
	defer s.c.wg.Done()
	r := NewReader(s.conn)
	r.MaxPayload = s.c.cfg.MaxPayload
	r.Supported = clientSupported
	for {
		_, m, err := r.ReadMessage()
		if err != nil {
			if herr, ok := errors.AsType[*HeaderError](err); ok {
				ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
				_ = s.send(ctx, GenericNACK{Code: herr.Code})
				cancel()
				if !herr.Code.ClosesSocket() {
					continue
				}
			}
			s.kill(err)
			return
		}
		s.handle(m)
	}
}

func (s *session) handle(m Message) {
	sa := s.c.cfg.SourceAddress
	switch m := m.(type) {
	case RoutingActivationResponse:
		select {
		case s.routing <- routingResult{resp: m}:
		default:
		}
	case AliveCheckRequest:
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		_ = s.send(ctx, AliveCheckResponse{SourceAddress: sa})
		cancel()
	case DiagnosticMessage:
		if d := s.c.receiver(m.SourceAddress); d != nil && m.TargetAddress == sa {
			d.deliver(m.Data)
		}
	case DiagnosticACK:
		if d := s.c.target(m.SourceAddress); d != nil && m.TargetAddress == sa {
			d.acked(nil)
		}
	case DiagnosticNACK:
		if d := s.c.target(m.SourceAddress); d != nil && m.TargetAddress == sa {
			d.acked(m.Code)
		}
	case GenericNACK:
		// The entity refused something we sent; it does not say what, so
		// every waiting call learns of it.
		select {
		case s.routing <- routingResult{err: m.Code}:
		default:
		}
		s.c.mu.Lock()
		for _, d := range s.c.targets {
			d.acked(m.Code)
		}
		s.c.mu.Unlock()
	}
}

// target returns the DiagConn for address ta, or nil if there is none.
func (c *Client) target(ta uint16) *DiagConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.targets[ta]
}
