package isotp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
)

// recvQueue is how many received messages (or reception errors) wait for
// Recv. When it is full, further single frames are dropped and first frames
// are answered with FC OVFLW.
const recvQueue = 64

// Conn is an ISO-TP connection to one peer over a can.Bus. It implements
// uds.Transport. It is safe for concurrent use: concurrent Sends are
// serialised (one message in flight), and reception runs independently of
// sending (full duplex).
type Conn struct {
	bus can.Bus
	c   conf

	sendSem chan struct{} // holds a token while a message is being sent

	fcMu     sync.Mutex
	fcArmed  bool          // the sender awaits flow control
	fcq      []fcEvent     // flow control frames not yet taken
	fcNotify chan struct{} // signalled when fcq grows

	rxq chan result
	rx  reassembly // touched only by the receive goroutine

	cancel    context.CancelFunc
	done      chan struct{} // closed when the receive goroutine returns
	err       error         // why it returned; read after done is closed
	closed    atomic.Bool
	closeOnce sync.Once
}

// fcEvent is a flow control frame (or an invalid one) for the sender.
type fcEvent struct {
	p   PDU
	err error
}

// result is a received message or the error that aborted its reception.
type result struct {
	msg        []byte
	functional bool
	err        error
}

// Message is a message received by RecvMessage: its data and how it was
// addressed.
type Message struct {
	Data []byte
	// Functional is true for a single frame received on the functional
	// identifier (Config.AcceptFunctional): ISO 14229-1 then leaves out
	// some negative responses.
	Functional bool
}

// New returns a Conn that sends and receives on b as cfg says, and starts
// the goroutine that reads b. Frames with identifiers (or address bytes)
// not addressed to this Conn are ignored. Close stops the goroutine; the
// caller keeps ownership of b and closes it after the Conn.
func New(b can.Bus, cfg Config) (*Conn, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("isotp new: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		bus:      b,
		c:        r,
		sendSem:  make(chan struct{}, 1),
		fcNotify: make(chan struct{}, 1),
		rxq:      make(chan result, recvQueue),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	go c.run(ctx)
	return c, nil
}

// Close stops the receive goroutine and waits for it. Pending and later
// calls return ErrClosed. It does not close the bus. It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.cancel()
	})
	<-c.done
	return nil
}

// stopErr says why the receive goroutine stopped.
func (c *Conn) stopErr() error {
	if c.closed.Load() || c.err == nil {
		return ErrClosed
	}
	return c.err
}

// Recv waits for the next message from the peer. A reception that fails
// (wrong sequence number, N_Cr timeout, a frame shorter than announced, an
// unexpected first or single frame) is reported as an error by the Recv
// that would have returned the message, whose MessageLost method reports
// true; the next Recv continues with the following message. Up to 64
// messages wait for Recv; while that many are queued, further single
// frames are dropped and first frames are answered with FC OVFLW.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	m, err := c.RecvMessage(ctx)
	return m.Data, err
}

// RecvMessage is Recv that also tells whether the message was addressed
// functionally, for an ECU that answers functional requests by the rules
// of ISO 14229-1.
func (c *Conn) RecvMessage(ctx context.Context) (Message, error) {
	if c.closed.Load() {
		return Message{}, fmt.Errorf("isotp recv: %w", ErrClosed)
	}
	select {
	case r := <-c.rxq:
		return r.unwrap()
	case <-ctx.Done():
		return Message{}, fmt.Errorf("isotp recv: %w", ctx.Err())
	case <-c.done:
		if !c.closed.Load() {
			select {
			case r := <-c.rxq:
				return r.unwrap()
			default:
			}
		}
		return Message{}, fmt.Errorf("isotp recv: %w", c.stopErr())
	}
}

func (r result) unwrap() (Message, error) {
	if r.err != nil {
		return Message{}, fmt.Errorf("isotp recv: %w", lostError{r.err})
	}
	return Message{Data: r.msg, Functional: r.functional}, nil
}

// sendFrame hands f to the bus within N_As.
func (c *Conn) sendFrame(ctx context.Context, f can.Frame) error {
	tctx, cancel := context.WithTimeout(ctx, c.c.nAs)
	err := c.bus.Send(tctx, f)
	cancel()
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeoutAs
	}
	return err
}

// run reads the bus until ctx ends or the bus fails, and handles every
// frame addressed to this Conn.
func (c *Conn) run(ctx context.Context) {
	defer close(c.done)
	// cr ends at (or before) the N_Cr deadline of the reception in
	// progress. It is renewed only when it has expired, so a stream of
	// consecutive frames costs no context per frame.
	var cr deadlineCtx
	defer cr.stop()
	// r is reused: handle copies what it keeps out of the frame.
	var r can.Received
	for {
		rctx := ctx
		if c.rx.active {
			if cr.expired() {
				if !time.Now().Before(c.rx.deadline) {
					c.abort(ErrTimeoutCr)
					continue
				}
				cr.reset(ctx, c.rx.deadline)
			}
			rctx = cr.ctx
		}
		var err error
		r, err = c.bus.Recv(rctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if rctx != ctx && rctx.Err() != nil {
				continue // the loop checks the N_Cr deadline
			}
			c.err = err
			return
		}
		c.handle(ctx, &r.Frame)
	}
}

// handle dispatches one received frame.
func (c *Conn) handle(ctx context.Context, f *can.Frame) {
	if f.Remote || f.Extended != c.c.ext {
		return
	}
	data := f.Payload()
	functional := false
	switch {
	case f.ID == c.c.rxID && c.addressed(data, c.c.rxAE):
	case c.c.acceptFunc && c.c.functional && f.ID == c.c.fRxID && c.addressed(data, c.c.fAE):
		functional = true
	default:
		return
	}
	data = data[c.c.aeLen():]
	if len(data) == 0 {
		return
	}
	t := PDUType(data[0] >> 4)
	if functional && t != SingleFrame {
		return // functional addressing carries single frames only
	}
	p, err := decodePDU(data)
	switch t {
	case SingleFrame:
		if err != nil || p.Escape != (int(f.Len) > can.MaxClassicLen) {
			return // invalid, or its SF_DL form does not fit CAN_DL: ignored
		}
		if c.rx.active && !functional {
			c.abort(ErrUnexpectedPDU)
		}
		c.deliver(result{msg: append([]byte(nil), p.Data...), functional: functional})
	case FirstFrame:
		if err != nil || p.Escape && p.Length <= MaxFFLen12 {
			return // an invalid FF, or one with an escape it did not need, is ignored
		}
		c.firstFrame(ctx, int(f.Len), p)
	case ConsecutiveFrame:
		if !c.rx.active {
			return // a CF outside a reception is ignored
		}
		if err != nil {
			c.abort(err)
			return
		}
		c.consecutiveFrame(ctx, p)
	case FlowControl:
		switch {
		case err == nil:
			c.deliverFC(fcEvent{p: p})
		case errors.Is(err, ErrInvalidFlowStatus):
			c.deliverFC(fcEvent{err: err})
		}
	}
}

// addressed reports whether data starts with address byte ae, for the
// modes that have one.
func (c *Conn) addressed(data []byte, ae byte) bool {
	return !c.c.hasAE || len(data) > 0 && data[0] == ae
}

// deliver queues r for Recv, or drops it when the queue is full.
func (c *Conn) deliver(r result) {
	select {
	case c.rxq <- r:
	default:
	}
}

// maxFCQueue bounds the flow control frames queued for the sender.
const maxFCQueue = 256

// deliverFC passes a flow control frame to a waiting sender; it is ignored
// when no sender waits (an unexpected FC, which the standard ignores).
func (c *Conn) deliverFC(ev fcEvent) {
	c.fcMu.Lock()
	if c.fcArmed && len(c.fcq) < maxFCQueue {
		c.fcq = append(c.fcq, ev)
	}
	c.fcMu.Unlock()
	select {
	case c.fcNotify <- struct{}{}:
	default:
	}
}

// armFC makes the receive goroutine queue flow control frames for the
// sender, until disarmFC.
func (c *Conn) armFC() {
	c.fcMu.Lock()
	c.fcArmed, c.fcq = true, c.fcq[:0]
	c.fcMu.Unlock()
}

func (c *Conn) disarmFC() {
	c.fcMu.Lock()
	c.fcArmed, c.fcq = false, c.fcq[:0]
	c.fcMu.Unlock()
}

// nextFC takes the oldest queued flow control frame.
func (c *Conn) nextFC() (fcEvent, bool) {
	c.fcMu.Lock()
	defer c.fcMu.Unlock()
	if len(c.fcq) == 0 {
		return fcEvent{}, false
	}
	ev := c.fcq[0]
	c.fcq = append(c.fcq[:0], c.fcq[1:]...)
	return ev, true
}

// deadlineCtx is a context with a deadline that is replaced once expired.
type deadlineCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (d *deadlineCtx) expired() bool { return d.ctx == nil || d.ctx.Err() != nil }

func (d *deadlineCtx) reset(parent context.Context, t time.Time) {
	d.stop()
	d.ctx, d.cancel = context.WithDeadline(parent, t)
}

func (d *deadlineCtx) stop() {
	if d.cancel != nil {
		d.cancel()
	}
}

// lostError is a failed reception or a refused send: one message is
// lost, the Conn goes on. MessageLost lets uds.Server.Serve tell it from a
// broken transport (uds.Transport).
type lostError struct{ err error }

func (e lostError) Error() string     { return e.err.Error() }
func (e lostError) Unwrap() error     { return e.err }
func (e lostError) MessageLost() bool { return true }
