package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// ErrStreamLost means a stream's service stopped serving it without an end
// marker: it was stopped for silence (see StreamIdle) or its process went
// away without an exit event.
var ErrStreamLost = errors.New("stream lost")

// Stream tuning of the Go controller.
const (
	// StreamIdle is the idle time a controller asks for: a service ends a
	// stream whose caller sent nothing for this long (a dead caller).
	StreamIdle = 3 * time.Second
	// streamKeepalive is how often a controller tells the service it is
	// alive while its reader is busy.
	streamKeepalive = 500 * time.Millisecond
	// streamStall fails a stream whose service sends nothing, not even
	// the heartbeat it owes every service.StreamWait.
	streamStall = 15 * time.Second
	// streamWindow is how many pulls a controller keeps outstanding.
	streamWindow = 2
	// streamPull is the credit of each pull.
	streamPull = 1000
)

// Stream calls a streaming method (one returning an iter.Seq2) with in as
// its input (nil for none) and yields the JSON of each item it produces.
// The service produces only as fast as the loop consumes (credit-based
// pulls), so nothing is lost and memory stays bounded on both sides.
//
// Leaving the loop, or ctx ending, ends the method's ctx at once. An error
// ends the iteration: the service's (a *ServiceError), ctx's, or — when the
// service's process exits — an *ExitedError matching ErrServiceExited.
func (c *Controller) Stream(ctx context.Context, method string, in any) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		st, err := c.openStream(ctx, method, in)
		if err != nil {
			yield(nil, err)
			return
		}
		defer st.close()
		for {
			items, err := st.next()
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if err != nil {
				if !errors.Is(err, errStreamEnd) {
					yield(nil, err)
				}
				return
			}
		}
	}
}

// StreamOf is Stream with each item decoded into a T.
func StreamOf[T any](ctx context.Context, c *Controller, method string, in any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for raw, err := range c.Stream(ctx, method, in) {
			var v T
			if err != nil {
				yield(v, err)
				return
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				yield(v, fmt.Errorf("stream %s.%s: decode item %q: %w", c.name, method, truncate(raw), err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

var errStreamEnd = errors.New("end of stream")

// clientStream is the caller's side of one open stream.
type clientStream struct {
	c       *Controller
	method  string
	ctx     context.Context
	epoch   context.Context
	subject string // the stream's, for pulls
	inbox   string // replies arrive on inbox.N
	sub     *nats.Subscription
	batches chan *nats.Msg
	pulled  int // pulls sent
	got     int // batches received
	done    bool
	stall   *time.Timer

	mu        sync.Mutex
	closed    bool
	keepalive *time.Timer
	stopCtx   func() bool
}

func (c *Controller) openStream(ctx context.Context, method string, in any) (*clientStream, error) {
	op := "stream " + c.name + "." + method
	if method == "" {
		return nil, fmt.Errorf("stream %s: empty method name", c.name)
	}
	var data []byte
	if in != nil {
		var err error
		if data, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("%s: encode input: %w", op, err)
		}
	}
	m := &nats.Msg{Subject: bus.ServiceSubject(c.name, method), Data: data, Header: nats.Header{}}
	m.Header.Set(service.StreamHeader, "open")
	m.Header.Set(service.StreamIdleHeader, strconv.FormatInt(StreamIdle.Milliseconds(), 10))
	if dl, ok := ctx.Deadline(); ok {
		m.Header.Set(service.TimeoutHeader, budgetMS(dl))
	}
	epoch := c.life.epoch()
	octx, cancel := joinEpoch(ctx, epoch)
	defer cancel()
	octx, cancelT := context.WithTimeout(octx, c.timeout)
	defer cancelT()
	reply, err := bus.Request(octx, c.nc, m, 0)
	if err != nil {
		if exit, ok := exitCause(octx); ok {
			err = exit
		} else if errors.Is(err, nats.ErrNoResponders) {
			err = ErrNoService
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := replyError(c.name, method, reply); err != nil {
		return nil, err
	}
	subject := reply.Header.Get(service.StreamHeader)
	if subject == "" {
		return nil, fmt.Errorf("%s: the reply opens no stream (is %s a streaming method?)", op, method)
	}
	if !bus.IsInbox(subject) {
		// This process sends pulls, pings and "stop" there with its own
		// credentials: a service must not choose where.
		return nil, fmt.Errorf("%s: the service named the stream subject %q, which is not one inbox subject (_INBOX.…): refused", op, subject)
	}
	st := &clientStream{c: c, method: method, ctx: ctx, epoch: epoch, subject: subject,
		inbox: bus.NewInbox(c.nc), batches: make(chan *nats.Msg, streamWindow+2)}
	if st.sub, err = c.nc.ChanSubscribe(st.inbox+".*", st.batches); err != nil {
		st.sendStop()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	st.stopCtx = context.AfterFunc(ctx, st.sendStop)
	st.keepalive = time.AfterFunc(streamKeepalive, st.ping)
	st.stall = time.NewTimer(streamStall)
	for range streamWindow {
		st.pull()
	}
	return st, nil
}

func replyError(name, method string, reply *nats.Msg) error {
	if code, msg, failed := bus.ReplyError(reply); failed {
		return &ServiceError{Service: name, Method: method, Code: code, Message: msg}
	}
	return nil
}

func (st *clientStream) pull() {
	m := &nats.Msg{Subject: st.subject, Reply: st.inbox + "." + strconv.Itoa(st.pulled), Data: []byte(strconv.Itoa(streamPull))}
	st.pulled++
	_ = st.c.nc.PublishMsg(m)
}

// next waits for the next batch and returns its items; the error is
// errStreamEnd at the end.
func (st *clientStream) next() ([][]byte, error) {
	op := "stream " + st.c.name + "." + st.method
	for {
		select {
		case m := <-st.batches:
			st.got++
			st.stall.Reset(streamStall)
			if err := st.ctx.Err(); err != nil {
				// The caller's ctx ended (its stop is on the way): that is
				// the end, whatever the service answered meanwhile.
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			if noResponders(m) {
				// The stream's subscription is gone. The service drops it
				// just before it sends the end, so a pull that reached the
				// server in between is answered first: the end may still
				// be on its way.
				end, ok := st.awaitEnd()
				if err := st.ctx.Err(); err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				if !ok { // awaitEnd watched for an exit event meanwhile
					return nil, st.lostNow(op)
				}
				m = end
			}
			end := m.Header.Get(service.StreamEndHeader) != ""
			items := split(m.Data)
			if err := replyError(st.c.name, st.method, m); err != nil {
				st.done = true
				if se, ok := err.(*ServiceError); ok {
					atDeadline(st.ctx, se.Code)
				}
				if end && errors.Is(err, ErrUnknownMethod) {
					return items, st.lost(op) // the service no longer has it
				}
				return items, err
			}
			if end {
				st.done = true
				return items, errStreamEnd
			}
			st.pull()
			if len(items) > 0 {
				return items, nil
			}
		case <-st.ctx.Done():
			return nil, fmt.Errorf("%s: %w", op, st.ctx.Err())
		case <-st.epoch.Done():
			if exit, ok := exitCause(st.epoch); ok {
				return nil, fmt.Errorf("%s: %w", op, exit)
			}
			return nil, fmt.Errorf("%s: %w", op, context.Cause(st.epoch))
		case <-st.stall.C:
			return nil, fmt.Errorf("%s: %w: nothing from the service for %v", op, ErrStreamLost, streamStall)
		}
	}
}

// awaitEnd waits a moment, after a pull found no responders, for the
// next answer from the service (its end); other answers of no responders
// are skipped. It gives up at once when ctx ends or the service exits.
func (st *clientStream) awaitEnd() (*nats.Msg, bool) {
	t := time.NewTimer(endAfterGone)
	defer t.Stop()
	for {
		select {
		case m := <-st.batches:
			st.got++
			if !noResponders(m) {
				return m, true
			}
		case <-t.C:
			return nil, false
		case <-st.ctx.Done():
			return nil, false
		case <-st.epoch.Done():
			return nil, false
		}
	}
}

// endAfterGone is how long a stream whose subscription is gone waits for
// its end marker, and for an exit event to explain a vanished stream.
const endAfterGone = 200 * time.Millisecond

// lost waits briefly for an exit event to explain a vanished stream.
func (st *clientStream) lost(op string) error {
	t := time.NewTimer(endAfterGone)
	defer t.Stop()
	select {
	case <-st.epoch.Done():
	case <-t.C:
	}
	return st.lostNow(op)
}

// lostNow is the error of a vanished stream: its service's exit if one
// was seen, else ErrStreamLost.
func (st *clientStream) lostNow(op string) error {
	if exit, ok := exitCause(st.epoch); ok {
		return fmt.Errorf("%s: %w", op, exit)
	}
	st.done = true
	return fmt.Errorf("%s: %w", op, ErrStreamLost)
}

// split cuts a batch into its JSON lines.
func split(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	items := make([][]byte, 0, bytes.Count(data, []byte{'\n'}))
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		if len(line) > 0 {
			items = append(items, line)
		}
		data = rest
	}
	return items
}

// ping is the keepalive: a message without reply subject.
func (st *clientStream) ping() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	_ = st.c.nc.Publish(st.subject, nil)
	st.keepalive.Reset(streamKeepalive)
}

func (st *clientStream) sendStop() { _ = st.c.nc.Publish(st.subject, []byte("stop")) }

// close ends the stream at the service (unless it ended) and releases it.
func (st *clientStream) close() {
	st.mu.Lock()
	st.closed = true
	st.keepalive.Stop()
	st.mu.Unlock()
	st.stopCtx()
	st.stall.Stop()
	if !st.done {
		st.sendStop()
	}
	_ = st.sub.Unsubscribe()
}
