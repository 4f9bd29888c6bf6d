package can

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	ecan "go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"
)

// SocketCAN is a node on a Linux SocketCAN interface (CAN_RAW), built on
// go.einride.tech/can/pkg/socketcan. It implements Bus.
//
// It carries classic frames only: sending a CAN FD frame, or a remote
// frame with a DLC above 8, fails with an error wrapping
// errors.ErrUnsupported. Filters are applied in user space; error frames
// are not received. Like any CAN_RAW socket it does not receive its own
// frames. Receive times are taken when the frame is read from the socket.
type SocketCAN struct {
	iface   string
	conn    net.Conn
	txMu    sync.Mutex // one write, and its deadline, at a time
	tx      *socketcan.Transmitter
	filters []Filter

	ch   chan Received
	done chan struct{} // closed by Close
	rxed chan struct{} // closed when the receive goroutine has exited
	err  error         // why receiving stopped; read after rxed is closed
	once sync.Once
}

// DialSocketCAN opens the SocketCAN interface iface (e.g. "can0", "vcan0").
// Options used: WithFilters, WithQueueSize.
func DialSocketCAN(ctx context.Context, iface string, opts ...Option) (*SocketCAN, error) {
	if err := validateIfaceName(iface); err != nil {
		return nil, fmt.Errorf("can: dial socketcan: %w", err)
	}
	conn, err := socketcan.DialContext(ctx, "can", iface)
	if err != nil {
		return nil, fmt.Errorf("can: dial socketcan %s: %w", iface, err)
	}
	return newSocketCAN(conn, iface, buildOptions(opts)), nil
}

// newSocketCAN runs a node over conn, which carries struct can_frame
// records (16 bytes each); it owns conn from now on.
func newSocketCAN(conn net.Conn, iface string, o options) *SocketCAN {
	s := &SocketCAN{
		iface:   iface,
		conn:    conn,
		tx:      socketcan.NewTransmitter(conn),
		filters: o.filters,
		ch:      make(chan Received, o.queue),
		done:    make(chan struct{}),
		rxed:    make(chan struct{}),
	}
	go s.receive(socketcan.NewReceiver(conn))
	return s
}

// receive reads frames until the connection fails or is closed.
func (s *SocketCAN) receive(rx *socketcan.Receiver) {
	defer close(s.rxed)
	for rx.Receive() {
		if rx.HasErrorFrame() {
			continue
		}
		r := Received{Time: time.Now(), Frame: FromEinride(rx.Frame())}
		if !matchAny(s.filters, &r.Frame) {
			continue
		}
		select {
		case s.ch <- r:
		case <-s.done:
			return
		}
	}
	select {
	case <-s.done:
		s.err = ErrClosed
	default:
		err := rx.Err()
		if err == nil {
			err = errors.New("connection closed")
		}
		s.err = fmt.Errorf("can: socketcan %s: receive: %w", s.iface, err)
	}
}

// Interface returns the interface name.
func (s *SocketCAN) Interface() string { return s.iface }

// Send writes f to the interface. A deadline of ctx becomes the write
// deadline; concurrent Sends write one at a time.
func (s *SocketCAN) Send(ctx context.Context, f Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	ef, err := ToEinride(f)
	if err != nil {
		return fmt.Errorf("can: send on socketcan %s: %w", s.iface, err)
	}
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		// The transmitter sets a deadline only when ctx has one: clear
		// what an earlier Send left behind.
		if err := s.conn.SetWriteDeadline(time.Time{}); err != nil {
			return fmt.Errorf("can: send on socketcan %s: %w", s.iface, err)
		}
	}
	if err := s.tx.TransmitFrame(ctx, ef); err != nil {
		select {
		case <-s.done:
			return ErrClosed
		default:
		}
		return fmt.Errorf("can: send on socketcan %s: %w", s.iface, err)
	}
	return nil
}

// Recv returns the next frame that passes the node's filters. If the
// interface fails, Recv returns the queued frames, then the error.
func (s *SocketCAN) Recv(ctx context.Context) (Received, error) {
	select {
	case r := <-s.ch:
		return r, nil
	case <-s.done:
		return Received{}, ErrClosed
	case <-ctx.Done():
		return Received{}, ctx.Err()
	case <-s.rxed:
		select {
		case r := <-s.ch:
			return r, nil
		default:
			return Received{}, s.err
		}
	}
}

// Close closes the socket and returns once the receive goroutine has
// exited. It is idempotent.
func (s *SocketCAN) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		if cerr := s.conn.Close(); cerr != nil {
			err = fmt.Errorf("can: close socketcan %s: %w", s.iface, cerr)
		}
		<-s.rxed
	})
	return err
}

// FromEinride converts a go.einride.tech/can frame.
func FromEinride(ef ecan.Frame) Frame {
	f := Frame{ID: ef.ID, Len: ef.Length, Extended: ef.IsExtended, Remote: ef.IsRemote}
	if !ef.IsRemote {
		copy(f.Data[:], ef.Data[:min(ef.Length, MaxClassicLen)])
	}
	return f
}

// ToEinride converts f to a go.einride.tech/can frame. It fails for an
// invalid frame and, wrapping errors.ErrUnsupported, for what einride's
// frame cannot hold: CAN FD frames and remote frames with a DLC above 8.
func ToEinride(f Frame) (ecan.Frame, error) {
	if err := f.Validate(); err != nil {
		return ecan.Frame{}, err
	}
	switch {
	case f.FD:
		return ecan.Frame{}, fmt.Errorf("CAN FD frame: %w", errors.ErrUnsupported)
	case f.Remote && f.Len > MaxClassicLen:
		return ecan.Frame{}, fmt.Errorf("remote frame with DLC %d: %w", f.Len, errors.ErrUnsupported)
	}
	ef := ecan.Frame{ID: f.ID, Length: f.Len, IsExtended: f.Extended, IsRemote: f.Remote}
	if !f.Remote {
		copy(ef.Data[:], f.Data[:f.Len])
	}
	return ef, nil
}
