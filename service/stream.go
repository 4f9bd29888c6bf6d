package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// Headers and tokens of the stream protocol (see the package doc).
const (
	// StreamHeader is "open" on the request that opens a stream, and the
	// subject of the stream (an inbox of the service's connection,
	// _INBOX.….) on the reply to it.
	StreamHeader = "Bgkit-Stream"
	// StreamIdleHeader on the open request is how long, in milliseconds,
	// the service keeps a stream whose caller sends nothing (no pull, no
	// keepalive) before it presumes the caller dead and ends it.
	StreamIdleHeader = "Bgkit-Stream-Idle-Ms"
	// StreamEndHeader is "1" on the last batch of a stream.
	StreamEndHeader = "Bgkit-Stream-End"
)

// Stream tuning. A pull is answered with at least one item, the end, or —
// after StreamWait with nothing to send — an empty batch (a heartbeat).
const (
	StreamWait        = time.Second
	DefaultStreamIdle = 30 * time.Second
	DefaultPull       = 100    // items of a pull with an empty body
	MaxPull           = 10_000 // items of one batch at most
	streamBuffer      = 256    // items produced ahead of the pulls
	streamHeaderRoom  = 4096   // bytes kept free in a batch for headers
)

// streamSet tracks the open streams of a server.
type streamSet struct {
	mu    sync.Mutex
	ended bool
	open  map[string]*stream // by subject
	wg    sync.WaitGroup
}

// add registers st, unless the set is ended or already holds max
// streams; the error says which.
func (ss *streamSet) add(st *stream, max int) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return errShuttingDown
	}
	if len(ss.open) >= max {
		return errTooManyStreams
	}
	if ss.open == nil {
		ss.open = map[string]*stream{}
	}
	ss.open[st.subject] = st
	ss.wg.Add(2) // producer and responder
	return nil
}

var (
	errShuttingDown   = errors.New("shutting down")
	errTooManyStreams = errors.New("too many open streams")
)

// tooManyStreams says why an open was refused. A stream runs its method
// until it is closed or idle: a service holds as many at once as it
// handles calls (WithConcurrency).
func tooManyStreams(name string, max int) string {
	return fmt.Sprintf("%s has %d streams open, its most (WithConcurrency): close one, or let one end", name, max)
}

func (ss *streamSet) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.open)
}

func (ss *streamSet) remove(st *stream) {
	ss.mu.Lock()
	delete(ss.open, st.subject)
	ss.mu.Unlock()
}

func (ss *streamSet) has(subject string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	_, ok := ss.open[subject]
	return ok
}

// end ends every stream (their callers get the end with a 503) and
// refuses new ones.
func (ss *streamSet) end() {
	ss.mu.Lock()
	ss.ended = true
	for _, st := range ss.open {
		st.stop(errShutdown)
	}
	ss.mu.Unlock()
}

// wait waits up to d for the goroutines of every stream.
func (ss *streamSet) wait(d time.Duration) {
	ss.end()
	done := make(chan struct{})
	go func() { ss.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

var errShutdown = &Error{Code: CodeUnavailable, Message: "shutting down"}

// stream is one open stream of a server.
type stream struct {
	s       *server
	ep      *endpoint
	subject string
	idle    time.Duration
	limit   int // bytes of a batch
	ctx     context.Context
	cancel  context.CancelFunc
	items   chan []byte // encoded items; closed by the producer at the end
	endErr  *Error      // why the producer ended, set before items is closed
	pulls   chan *nats.Msg
	stopped chan struct{} // closed by stop
	stopMu  sync.Mutex
	stopErr *Error       // why stop was called (nil: the caller asked)
	seen    atomic.Int64 // last message from the caller, UnixNano
	sub     *nats.Subscription
	held    []byte // an item that did not fit in the last batch
	endSent *Error // what the end said, for the pulls queued behind it (respond's)
	unsub   sync.Once
}

// drain unsubscribes once the pulls the connection has already received
// are handled (onMsg answers them with the end): a pull that came just
// before the stream stopped is answered, not dropped.
func (st *stream) drain() { st.unsub.Do(func() { _ = st.sub.Drain() }) }

// openStream answers a request to a streaming endpoint (or one marked as
// opening a stream): it runs the method and replies with the stream's
// subject, or with an error.
func (s *server) openStream(ep *endpoint, m *nats.Msg) {
	opening := m.Header.Get(StreamHeader) == "open"
	switch {
	case !ep.Stream:
		_ = s.respondError(m, ep, CodeBadRequest, fmt.Sprintf("%s is not a stream; call it without the %s header", ep.Name, StreamHeader))
		return
	case !opening:
		_ = s.respondError(m, ep, CodeBadRequest, fmt.Sprintf("%s is a stream: open it with header %s: open (see the service package doc)", ep.Name, StreamHeader))
		return
	case m.Reply == "":
		return
	}
	ms, data, code, msg := budgetOf(ep, m)
	if code != 0 {
		_ = s.respondError(m, ep, code, msg)
		return
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if ms > 0 {
		ctx, cancel = context.WithTimeout(s.life, time.Duration(ms)*time.Millisecond)
	} else {
		ctx, cancel = context.WithCancel(s.life)
	}
	st := &stream{
		s: s, ep: ep, ctx: ctx, cancel: cancel,
		subject: bus.NewInbox(s.nc),
		idle:    DefaultStreamIdle,
		limit:   int(s.nc.MaxPayload()) - streamHeaderRoom,
		items:   make(chan []byte, streamBuffer),
		pulls:   make(chan *nats.Msg, 64),
		stopped: make(chan struct{}),
	}
	if ms, err := strconv.ParseInt(m.Header.Get(StreamIdleHeader), 10, 64); err == nil && ms > 0 && ms <= maxTimeoutMS {
		st.idle = time.Duration(ms) * time.Millisecond
	}
	st.seen.Store(time.Now().UnixNano())
	if s.streams.count() >= s.o.concurrency { // before the method starts (add decides)
		cancel()
		_ = s.respondError(m, ep, CodeUnavailable, tooManyStreams(s.o.name, s.o.concurrency))
		return
	}
	seq, code, msg := s.startStream(ctx, ep, data)
	if code != 0 {
		cancel()
		_ = s.respondError(m, ep, code, msg)
		return
	}
	sub, err := s.nc.Subscribe(st.subject, st.onMsg)
	if err != nil {
		cancel()
		_ = s.respondError(m, ep, CodeInternal, fmt.Sprintf("%s: open stream: %v", ep.Name, err))
		return
	}
	st.sub = sub
	if err := s.streams.add(st, s.o.concurrency); err != nil {
		cancel()
		_ = sub.Unsubscribe()
		msg := bus.ShuttingDown(s.o.name)
		if errors.Is(err, errTooManyStreams) {
			msg = tooManyStreams(s.o.name, s.o.concurrency)
		}
		_ = s.respondError(m, ep, CodeUnavailable, msg)
		return
	}
	go st.produce(seq)
	go st.respond()
	r := nats.NewMsg(m.Reply)
	r.Header.Set(StreamHeader, st.subject)
	if err := m.RespondMsg(r); err != nil {
		st.stop(nil)
	}
	ep.mu.Lock()
	ep.stats.NumRequests++
	ep.mu.Unlock()
}

// startStream decodes the input (trimmed) and calls the method, which returns the
// iterator (a reflect.Value of an iter.Seq2) or an error.
func (s *server) startStream(ctx context.Context, ep *endpoint, data []byte) (reflect.Value, int, string) {
	args := []reflect.Value{reflect.ValueOf(ctx)}
	if ep.In != nil {
		if len(data) == 0 {
			return reflect.Value{}, CodeBadRequest, fmt.Sprintf("%s takes an argument of type %s; got none", ep.Name, ep.In)
		}
		in := reflect.New(ep.In)
		if err := decodeInput(data, in.Interface(), ep.strict); err != nil {
			return reflect.Value{}, CodeBadRequest, fmt.Sprintf("%s: bad argument (want %s): %v", ep.Name, ep.In, err)
		}
		if ep.strict {
			if err := Validate(in.Interface()); err != nil {
				return reflect.Value{}, CodeBadRequest, fmt.Sprintf("%s: %v", ep.Name, err)
			}
		}
		args = append(args, in.Elem())
	} else if len(data) > 0 && string(data) != "null" && string(data) != "{}" && string(data) != `""` {
		return reflect.Value{}, CodeBadRequest, fmt.Sprintf("%s takes no argument; got %d bytes", ep.Name, len(data))
	}
	results, panicked := invoke(ep.fn, args)
	if panicked != nil {
		s.o.logger.Error("method panicked", "method", ep.Name, "panic", fmt.Sprint(panicked.v), "stack", panicked.stack)
		return reflect.Value{}, CodeInternal, fmt.Sprintf("%s panicked: %v", ep.Name, panicked.v)
	}
	if errv := results[1]; !errv.IsNil() {
		code, msg := codeOfCall(ctx, errv.Interface().(error))
		return reflect.Value{}, code, msg
	}
	if results[0].IsNil() {
		return reflect.Value{}, CodeInternal, ep.Name + " returned a nil iterator"
	}
	return results[0], 0, ""
}

// onMsg takes a message from the caller: a pull (it has a reply subject),
// "stop", or a keepalive.
func (st *stream) onMsg(m *nats.Msg) {
	st.seen.Store(time.Now().UnixNano())
	stop := string(bytes.TrimSpace(m.Data)) == "stop"
	if m.Reply != "" && bus.IsInbox(m.Reply) {
		// Queued under stopMu, so that a pull is either queued before the
		// stream stops (and the responder's drain answers it) or answered
		// here with the end.
		st.stopMu.Lock()
		stopped := isDone(st.stopped)
		full := false
		if !stopped {
			select {
			case st.pulls <- m: // before stop, so that the end answers it
			default: // more pulls than any caller keeps outstanding
				full = true
			}
		}
		st.stopMu.Unlock()
		switch {
		case stopped:
			st.answer(m, nil, true, st.why())
		case full:
			st.answer(m, nil, false, &Error{Code: CodeBadRequest, Message: "too many pulls outstanding"})
		}
	}
	if stop {
		st.stop(nil)
	}
}

// stop ends the stream: the method's ctx ends; why is sent to the caller
// with the end (nil: the caller asked to stop).
func (st *stream) stop(why *Error) {
	st.stopMu.Lock()
	defer st.stopMu.Unlock()
	select {
	case <-st.stopped:
		return
	default:
	}
	st.stopErr = why
	close(st.stopped)
	st.cancel()
}

var (
	trueValue  = reflect.ValueOf(true)
	falseValue = reflect.ValueOf(false)
)

// produce runs the iterator, encoding items into st.items; a full buffer
// blocks it, so the caller's pulls pace the method.
func (st *stream) produce(seq reflect.Value) {
	defer st.s.streams.wg.Done()
	defer close(st.items)
	yieldType := seq.Type().In(0)
	yield := reflect.MakeFunc(yieldType, func(args []reflect.Value) []reflect.Value {
		if errv := args[1]; !errv.IsNil() {
			code, msg := codeOfCall(st.ctx, errv.Interface().(error))
			st.endErr = &Error{Code: code, Message: msg}
			return []reflect.Value{falseValue}
		}
		data, err := json.Marshal(args[0].Interface())
		if err != nil {
			st.endErr = &Error{Code: CodeInternal, Message: fmt.Sprintf("%s: encode item: %v", st.ep.Name, err)}
			return []reflect.Value{falseValue}
		}
		if len(data) > st.limit {
			st.endErr = &Error{Code: CodeInternal, Message: fmt.Sprintf("%s: item of %d bytes exceeds the bus's max payload of %d bytes",
				st.ep.Name, len(data), st.s.nc.MaxPayload())}
			return []reflect.Value{falseValue}
		}
		select {
		case st.items <- data:
			return []reflect.Value{trueValue}
		case <-st.ctx.Done():
			return []reflect.Value{falseValue}
		}
	})
	defer func() {
		if r := recover(); r != nil {
			st.s.o.logger.Error("stream panicked", "method", st.ep.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			st.endErr = &Error{Code: CodeInternal, Message: fmt.Sprintf("%s panicked: %v", st.ep.Name, r)}
		}
	}()
	seq.Call([]reflect.Value{yield})
}

// respond answers the caller's pulls until the stream ends, then ends the
// method's ctx and drops the subscription.
func (st *stream) respond() {
	defer st.s.streams.wg.Done()
	defer st.s.streams.remove(st)
	defer st.drain()
	defer st.cancel()
	idle := time.NewTimer(st.idle)
	defer idle.Stop()
	wait := time.NewTimer(StreamWait)
	defer wait.Stop()
	for {
		select {
		case p := <-st.pulls:
			if st.serve(p, wait) {
				// Pulls queued behind the one that got the end get it too;
				// once stopped, onMsg answers those that come later.
				st.stop(st.endSent)
				st.drainPulls()
				return
			}
			idle.Reset(st.idle)
		case <-idle.C:
			if since := time.Since(time.Unix(0, st.seen.Load())); since < st.idle {
				idle.Reset(st.idle - since)
				continue
			}
			st.stop(nil) // the caller is gone: nobody to tell
			st.drainPulls()
			return
		case <-st.stopped:
			st.drainPulls()
			return
		}
	}
}

// serve answers one pull; it reports whether the stream has ended.
func (st *stream) serve(p *nats.Msg, wait *time.Timer) (ended bool) {
	credit := DefaultPull
	if body := bytes.TrimSpace(p.Data); len(body) > 0 {
		if string(body) == "stop" {
			return st.end(p, nil, st.why())
		}
		n, err := strconv.Atoi(string(body))
		if err != nil || n < 0 {
			st.answer(p, nil, false, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("bad pull %q: want a number of items or stop", body)})
			return false
		}
		credit = min(n, MaxPull)
	}
	var batch bytes.Buffer
	n := 0
	add := func(it []byte) bool {
		if n > 0 && batch.Len()+len(it)+1 > st.limit {
			st.held = it
			return false
		}
		batch.Write(it)
		batch.WriteByte('\n')
		n++
		return true
	}
	if st.held != nil {
		it := st.held
		st.held = nil
		add(it)
	}
	if n == 0 && credit > 0 { // wait for the first item
		wait.Reset(StreamWait)
		select {
		case it, ok := <-st.items:
			if !ok {
				return st.end(p, nil, st.endReason())
			}
			add(it)
		case <-wait.C:
			st.answer(p, nil, false, nil) // heartbeat
			return false
		case <-st.stopped:
			return st.end(p, nil, st.why())
		}
	}
	for n < credit && st.held == nil {
		select {
		case it, ok := <-st.items:
			if !ok {
				return st.end(p, batch.Bytes(), st.endReason())
			}
			add(it)
			continue
		default:
		}
		break
	}
	st.answer(p, batch.Bytes(), false, nil)
	return false
}

// end answers p with the end and e, and keeps e for the pulls behind it
// (respond's goroutine only).
func (st *stream) end(p *nats.Msg, batch []byte, e *Error) bool {
	st.endSent = e
	st.answer(p, batch, true, e)
	return true
}

// endReason is the error that ended the producer, or why it was stopped,
// or the caller's deadline if that is what ended it.
func (st *stream) endReason() *Error {
	if st.endErr != nil {
		return st.endErr
	}
	if why := st.why(); why != nil {
		return why
	}
	if errors.Is(st.ctx.Err(), context.DeadlineExceeded) {
		return deadlineEnd(st.ep.Name)
	}
	return nil
}

func (st *stream) why() *Error {
	st.stopMu.Lock()
	defer st.stopMu.Unlock()
	return st.stopErr
}

// drainPulls answers the pulls waiting when the stream was stopped.
func (st *stream) drainPulls() {
	for {
		select {
		case p := <-st.pulls:
			st.answer(p, nil, true, st.why())
		default:
			return
		}
	}
}

// answer replies to a pull with a batch (JSON lines), the end marker and
// an error, if any.
func (st *stream) answer(p *nats.Msg, batch []byte, end bool, e *Error) {
	if end {
		// Gone before the caller learns of the end (the UNSUB goes out
		// ahead of the reply): a later pull gets no responders instead of
		// silence. Drained, not dropped: the pulls already on their way to
		// this connection still reach onMsg, which answers them with the end.
		st.drain()
	}
	r := &nats.Msg{Subject: p.Reply, Data: batch}
	if end || e != nil {
		r.Header = nats.Header{}
		if end {
			r.Header.Set(StreamEndHeader, "1")
		}
		if e != nil {
			r.Header = bus.ErrorReply(p.Reply, e.Code, e.Message).Header
			if end {
				r.Header.Set(StreamEndHeader, "1")
			}
		}
	}
	if err := st.s.nc.PublishMsg(r); err != nil {
		st.s.o.logger.Warn("stream reply failed", "method", st.ep.Name, "err", err)
	}
}
