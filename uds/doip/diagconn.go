package doip

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// rxQueueLen is how many responses a DiagConn keeps for Recv; when it is
// full the oldest is dropped.
const rxQueueLen = 32

// DiagConn is a Client's diagnostic connection to one target address. It
// implements uds.Transport: Send carries one UDS request in a diagnostic
// message (0x8001) and waits for the entity's ACK; Recv returns the user
// data of the next diagnostic message from the target.
//
// A DiagConn is safe for one sender and one receiver at a time.
type DiagConn struct {
	c          *Client
	target     uint16
	functional bool // guarded by c.mu

	sendMu  sync.Mutex
	waiting atomic.Bool
	ack     chan error // capacity 1: the outcome of the pending Send
	rx      chan []byte
}

// TargetAddress returns the logical address of the target.
func (d *DiagConn) TargetAddress() uint16 { return d.target }

// Send sends msg to the target and waits for its diagnostic message ACK
// (0x8002). A diagnostic message NACK (0x8003) gives an error wrapping its
// DiagNACKCode; a generic header NACK one wrapping its HeaderNACKCode; no
// answer within ClientConfig.Timeout gives ErrTimeout. When the connection
// was lost before, Send reconnects first (see Client).
func (d *DiagConn) Send(ctx context.Context, msg []byte) error {
	if err := d.send(ctx, msg); err != nil {
		return fmt.Errorf("doip: send to 0x%04X: %w", d.target, err)
	}
	return nil
}

func (d *DiagConn) send(ctx context.Context, msg []byte) error {
	if len(msg) == 0 {
		return errEmptyUserData
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	s, err := d.c.session(ctx)
	if err != nil {
		return err
	}
	select { // an ACK that came after an earlier Send gave up
	case <-d.ack:
	default:
	}
	d.waiting.Store(true)
	defer d.waiting.Store(false)
	m := DiagnosticMessage{SourceAddress: d.c.cfg.SourceAddress, TargetAddress: d.target, Data: msg}
	d.c.sent(d)
	if err := s.send(ctx, m); err != nil {
		return err
	}
	t := time.NewTimer(d.c.cfg.Timeout)
	defer t.Stop()
	select {
	case err := <-d.ack:
		return err
	case <-s.done:
		select { // a NACK that came just before the entity closed
		case err := <-d.ack:
			return err
		default:
		}
		return s.lost()
	case <-ctx.Done():
		return ctx.Err()
	case <-d.c.closing:
		return ErrClosed
	case <-t.C:
		return fmt.Errorf("diagnostic message ACK: %w", ErrTimeout)
	}
}

// Recv returns the user data of the next diagnostic message from the
// target. It fails with ErrConnectionLost when the connection ends first,
// and does not reconnect: only Send does.
func (d *DiagConn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case b := <-d.rx:
		return b, nil
	default:
	}
	s, err := d.c.current()
	if err != nil {
		return nil, fmt.Errorf("doip: recv from 0x%04X: %w", d.target, err)
	}
	var done <-chan struct{}
	if s != nil {
		done = s.done
	}
	select {
	case b := <-d.rx:
		return b, nil
	case <-done:
		select {
		case b := <-d.rx:
			return b, nil
		default:
		}
		err = s.lost()
	case <-ctx.Done():
		err = ctx.Err()
	case <-d.c.closing:
		err = ErrClosed
	}
	return nil, fmt.Errorf("doip: recv from 0x%04X: %w", d.target, err)
}

// deliver queues a response for Recv; it is called only by the reading
// goroutine, so after dropping the oldest the send cannot block.
func (d *DiagConn) deliver(b []byte) {
	select {
	case d.rx <- b:
		return
	default:
	}
	select {
	case <-d.rx:
	default:
	}
	select {
	case d.rx <- b:
	default:
	}
}

// acked completes a waiting Send with err (nil for an ACK).
func (d *DiagConn) acked(err error) {
	if !d.waiting.Load() {
		return
	}
	select {
	case d.ack <- err:
	default:
	}
}
