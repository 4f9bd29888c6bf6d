package can

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// SubjectPrefix starts the NATS subject of every virtual bus: bus "bus0"
// is subject "can.bus0".
const SubjectPrefix = bus.CANPrefix

// NodeHeader is the NATS header a Virtual node puts on the frames it sends,
// holding a random id of the node, so that it can skip its own frames.
// Messages without it (from "nats pub", say) are received by every node.
const NodeHeader = "Can-Node"

// ErrInvalidName is wrapped by the errors for a bus or interface name that
// cannot be used.
var ErrInvalidName = errors.New("invalid bus or interface name")

// Subject returns the NATS subject of the virtual bus name: "can." + name.
func Subject(name string) string { return bus.CANSubject(name) }

// ValidateBusName reports whether name can name a virtual bus: it must be
// one NATS subject token, non-empty printable ASCII without space, '.', '*'
// or '>'.
func ValidateBusName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7F || c == '.' || c == '*' || c == '>' {
			return fmt.Errorf("%w: %q: character %q is not allowed in a NATS subject token", ErrInvalidName, name, c)
		}
	}
	return nil
}

// Virtual is a node on a virtual CAN bus carried by NATS. It implements Bus.
//
// Every frame is one message on subject "can.<name>" whose payload is the
// frame in cansend text ("7E0#023E80"), so any NATS client can take part:
//
//	nats pub can.bus0 '7E0#023E80'
//	nats sub can.bus0
//
// A node does not receive its own frames (see NodeHeader). Frames from other
// nodes are filtered, stamped with their time of arrival and queued until
// Recv takes them; a full queue holds back delivery, and NATS then buffers
// up to generous pending limits before it drops messages as a slow consumer
// (counted in Stats().Dropped). A message that is not a frame is counted in
// Stats().Malformed and logged, and the node carries on.
type Virtual struct {
	nc      *nats.Conn
	name    string
	subject string
	node    string
	hdr     nats.Header
	filters []Filter
	log     *slog.Logger

	sub     *nats.Subscription
	ch      chan Received
	done    chan struct{} // closed by Close
	subDone chan struct{} // closed when the subscription's handler has exited
	once    sync.Once

	received, sent, malformed, filtered atomic.Uint64
	dropped                             atomic.Int64 // sub.Dropped() as of Close

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// VirtualStats counts a virtual node's traffic.
type VirtualStats struct {
	Sent      uint64 // frames published
	Received  uint64 // frames from other nodes queued for Recv
	Filtered  uint64 // frames from other nodes that no filter passed
	Malformed uint64 // messages whose payload is not a frame
	Dropped   uint64 // messages NATS dropped because the node fell behind
}

// Pending limits of a node's subscription: far above what a CAN bus
// carries in a second, so that a busy receiver does not lose frames.
const (
	pendingMsgs  = 1 << 20
	pendingBytes = 256 << 20
)

// NewVirtual attaches a node to the virtual bus name over nc. The caller
// owns nc; Close detaches the node without closing nc. Options used:
// WithFilters, WithLogger, WithQueueSize.
func NewVirtual(nc *nats.Conn, name string, opts ...Option) (*Virtual, error) {
	if nc == nil {
		return nil, fmt.Errorf("can: virtual bus %s: %w", name, ErrNATSRequired)
	}
	if err := ValidateBusName(name); err != nil {
		return nil, fmt.Errorf("can: virtual bus: %w", err)
	}
	o := buildOptions(opts)
	node := nuid.Next()
	v := &Virtual{
		nc:      nc,
		name:    name,
		subject: Subject(name),
		node:    node,
		hdr:     nats.Header{NodeHeader: []string{node}},
		filters: o.filters,
		log:     o.logger.With("bus", name),
		ch:      make(chan Received, o.queue),
		done:    make(chan struct{}),
		subDone: make(chan struct{}),
	}
	sub, err := nc.Subscribe(v.subject, v.handle)
	if err != nil {
		return nil, fmt.Errorf("can: virtual bus %s: subscribe: %w", name, err)
	}
	sub.SetClosedHandler(func(string) { close(v.subDone) })
	if !sub.IsValid() { // closed before the handler was set: it may never run
		return nil, fmt.Errorf("can: virtual bus %s: %w", name, nats.ErrConnectionClosed)
	}
	if err := sub.SetPendingLimits(pendingMsgs, pendingBytes); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("can: virtual bus %s: %w", name, err)
	}
	// Make sure the server has the subscription before the node is used,
	// so that no frame sent after NewVirtual returns is missed.
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("can: virtual bus %s: flush: %w", name, err)
	}
	v.sub = sub
	return v, nil
}

// Name returns the bus name.
func (v *Virtual) Name() string { return v.name }

// handle runs on the subscription's goroutine for every message.
func (v *Virtual) handle(m *nats.Msg) {
	t := time.Now()
	if m.Header != nil && m.Header.Get(NodeHeader) == v.node {
		return
	}
	var r Received
	if err := parseFrame(m.Data, &r.Frame); err != nil {
		v.malformed.Add(1)
		v.logMalformed(err)
		return
	}
	if !matchAny(v.filters, &r.Frame) {
		v.filtered.Add(1)
		return
	}
	r.Time = t
	// Count before the hand-off, so that Stats already includes a frame
	// that Recv has returned.
	v.received.Add(1)
	select {
	case v.ch <- r:
	case <-v.done:
		v.received.Add(^uint64(0)) // not queued after all
	}
}

// logMalformed logs a malformed message, at most once a second, so that a
// flood of garbage does not flood the log too.
func (v *Virtual) logMalformed(err error) {
	v.logMu.Lock()
	now := time.Now()
	if !v.lastLog.IsZero() && now.Sub(v.lastLog) < time.Second {
		v.suppressed++
		v.logMu.Unlock()
		return
	}
	n := v.suppressed
	v.suppressed = 0
	v.lastLog = now
	v.logMu.Unlock()
	v.log.Warn("can: malformed frame on virtual bus", "subject", v.subject, "err", err, "suppressed", n)
}

// Send publishes f. It returns once NATS has buffered the message.
func (v *Virtual) Send(ctx context.Context, f Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-v.done:
		return ErrClosed
	default:
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("can: send on %s: %w", v.name, err)
	}
	bp := textBufs.Get().(*[]byte)
	b := appendFrame((*bp)[:0], &f)
	err := v.nc.PublishMsg(&nats.Msg{Subject: v.subject, Header: v.hdr, Data: b})
	*bp = b
	textBufs.Put(bp)
	if err != nil {
		return fmt.Errorf("can: send on %s: %w", v.name, err)
	}
	v.sent.Add(1)
	return nil
}

// textBufs holds buffers for frame text; NATS copies a payload on publish.
var textBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, maxTextLen)
	return &b
}}

// Recv returns the next frame another node sent.
func (v *Virtual) Recv(ctx context.Context) (Received, error) {
	select {
	case r := <-v.ch:
		return r, nil
	case <-v.done:
		return Received{}, ErrClosed
	case <-ctx.Done():
		return Received{}, ctx.Err()
	case <-v.subDone: // the connection closed under the node
		select {
		case r := <-v.ch:
			return r, nil
		case <-v.done:
			return Received{}, ErrClosed
		default:
			return Received{}, fmt.Errorf("can: virtual bus %s: %w", v.name, nats.ErrConnectionClosed)
		}
	}
}

// Close detaches the node: it unsubscribes and returns once the
// subscription's handler has exited. Frames still queued are discarded.
// It is idempotent and does not close the NATS connection.
func (v *Virtual) Close() error {
	var err error
	v.once.Do(func() {
		close(v.done)
		if d, derr := v.sub.Dropped(); derr == nil {
			v.dropped.Store(int64(d))
		}
		if uerr := v.sub.Unsubscribe(); uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) && !errors.Is(uerr, nats.ErrBadSubscription) {
			err = fmt.Errorf("can: close virtual bus %s: %w", v.name, uerr)
		}
		<-v.subDone
	})
	return err
}

// Stats returns the node's counters.
func (v *Virtual) Stats() VirtualStats {
	dropped := v.dropped.Load()
	select {
	case <-v.done:
	default:
		if d, err := v.sub.Dropped(); err == nil {
			dropped = int64(d)
		}
	}
	return VirtualStats{
		Sent:      v.sent.Load(),
		Received:  v.received.Load(),
		Filtered:  v.filtered.Load(),
		Malformed: v.malformed.Load(),
		Dropped:   uint64(max(dropped, 0)),
	}
}

// String describes the node, e.g. "virtual:bus0".
func (v *Virtual) String() string {
	var b strings.Builder
	b.WriteString(KindVirtual)
	b.WriteByte(':')
	b.WriteString(v.name)
	return b.String()
}
