package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"

	"github.com/bgkit/bgkit/bus"
)

// TimeoutHeader carries the caller's remaining time budget in milliseconds;
// the method's ctx gets that deadline.
const TimeoutHeader = "Bgkit-Timeout-Ms"

// QueueGroup is the queue group of service subscriptions, as in NATS micro:
// several instances of one name share the calls.
const QueueGroup = "q"

// Version is the version services report in $SRV.INFO.
const Version = "0.1.0"

// Option configures Run.
type Option func(*options)

type options struct {
	name         string
	onReady      func(Info)
	onSubscribed func(Info)
	logger       *slog.Logger
	grace        time.Duration
	concurrency  int
	metadata     map[string]string
	description  string
}

// WithName serves the service under name instead of the one derived from
// its type.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithOnReady calls f once the service answers requests.
func WithOnReady(f func(Info)) Option { return func(o *options) { o.onReady = f } }

// WithOnSubscribed calls f once the service's subscriptions are written
// on its connection, before they are flushed: a message f publishes on
// the same connection reaches the server after them, so whoever receives
// it through that server can call the service at once (a spawned child
// tells its parent so, a round trip sooner than WithOnReady's f, which
// follows once the server has confirmed them). f must not block.
func WithOnSubscribed(f func(Info)) Option { return func(o *options) { o.onSubscribed = f } }

// WithLogger sets the logger for the server's own records (panics, errors
// of calls). Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithShutdownTimeout bounds draining calls in flight plus Shutdown (default 5 s).
func WithShutdownTimeout(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithConcurrency bounds the calls handled at once (default 1024); further
// calls wait in a queue of 65,536 requests (past it the connection drops
// them as a slow consumer, and logs it). It bounds the streams open at
// once too: past it, an open is answered 503.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithMetadata adds entries to the metadata reported by $SRV.INFO/PING/STATS.
func WithMetadata(md map[string]string) Option {
	return func(o *options) {
		for k, v := range md {
			o.metadata[k] = v
		}
	}
}

// WithDescription sets the description reported by $SRV.INFO.
func WithDescription(d string) Option { return func(o *options) { o.description = d } }

// Info describes a serving service.
type Info struct {
	Name      string
	ID        string
	Endpoints []Endpoint
}

// Run initializes svc, serves its endpoints on b until ctx ends, then shuts
// it down within one budget (WithShutdownTimeout, counted from the end of
// ctx): new calls are answered 503, the ctx of calls in flight ends at once
// and Run waits for them to return, Shutdown runs with what is left of the
// budget, and the subscriptions are removed. It returns Initialize's or
// Shutdown's error, if any.
//
// Run speaks the NATS micro protocol, so `nats micro ls/info/stats/ping`
// see the service.
func Run(ctx context.Context, b *bus.Bus, svc Service, opts ...Option) error {
	host, _ := os.Hostname()
	o := options{
		logger:      slog.Default(),
		grace:       5 * time.Second,
		concurrency: 1024,
		metadata:    map[string]string{"pid": strconv.Itoa(os.Getpid()), "host": host},
	}
	for _, opt := range opts {
		opt(&o)
	}
	o.metadata[MetadataTimeoutPrefix] = "1" // what the service reads, whatever WithMetadata said
	if o.name == "" {
		o.name = nameOf(svc)
	}
	if err := bus.ValidateName(o.name); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	eps, err := Endpoints(svc)
	if err != nil {
		return fmt.Errorf("serve %s: %w", o.name, err)
	}
	life, endLife := context.WithCancel(withService(context.WithoutCancel(ctx), b, o.name))
	defer endLife()
	// Initialize's ctx lives as long as the service (what it starts may
	// keep it), but ends if Run is told to stop before Initialize returns:
	// a stop (Ctrl-C, Terminate) in the middle of opening a session ends
	// the wait, and Initialize cleans up and returns.
	initCtx, endInit := context.WithCancel(life)
	defer endInit()
	var stoppedAt time.Time // when ctx ended during Initialize
	stopped := make(chan struct{})
	interrupt := context.AfterFunc(ctx, func() {
		stoppedAt = time.Now()
		close(stopped)
		endInit()
	})
	err = svc.Initialize(initCtx)
	interrupted := !interrupt()
	if err != nil {
		return fmt.Errorf("initialize %s: %w", o.name, err)
	}
	if interrupted {
		// Told to stop while Initialize ran, and it opened what it opens
		// all the same: shut down at once, within the budget counted from
		// the stop (the parent's grace is), serving nothing.
		<-stopped // the AfterFunc has started: a moment
		return shutdown(svc, life, max(time.Until(stoppedAt.Add(o.grace)), 0))
	}
	// The ctx of every call derives from calls, which ends when Run is
	// told to stop: a method that honours its ctx returns at once then.
	calls, endCalls := context.WithCancel(life)
	defer endCalls()
	s := newServer(b.Conn(), o, eps, calls)
	err = s.start()
	if err == nil && o.onSubscribed != nil {
		o.onSubscribed(Info{Name: o.name, ID: s.id, Endpoints: eps})
	}
	if err == nil {
		err = s.nc.Flush()
	}
	if err != nil {
		s.stop()
		return errors.Join(fmt.Errorf("serve %s: %w", o.name, err), shutdown(svc, life, o.grace))
	}
	if o.onReady != nil {
		o.onReady(Info{Name: o.name, ID: s.id, Endpoints: eps})
	}
	<-ctx.Done()
	// One budget for the drain, Shutdown and the readers' exit.
	deadline := time.Now().Add(o.grace)
	s.stopMu.Lock()
	s.stopping = true
	busy := s.active.Load() > 0
	s.stopMu.Unlock()
	// Streams first: each gets its reason (503) before its ctx, a child of
	// the calls', ends; else a producer that returns on ctx could end its
	// stream with no reason given.
	s.streams.end()
	endCalls()
	if busy { // else no call runs, and none starts once stopping is set
		drained := make(chan struct{})
		go func() { s.inflight.Wait(); close(drained) }()
		timer := time.NewTimer(o.grace)
		select {
		case <-drained:
		case <-timer.C:
			o.logger.Warn("calls still running at shutdown: their methods ignore ctx", "service", o.name)
		}
		timer.Stop()
	}
	err = shutdown(svc, life, max(time.Until(deadline), 0))
	s.o.grace = max(time.Until(deadline), 0) // what stop may wait for readers
	s.stop()
	return err
}

func shutdown(svc Service, life context.Context, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(life, grace)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown %s: %w", NameFrom(life), err)
	}
	return nil
}

// server is the NATS side of Run.
type server struct {
	nc      *nats.Conn
	o       options
	id      string
	started time.Time
	eps     map[string]*endpoint
	names   []string // sorted endpoint names, for 404 messages
	life    context.Context
	calls   *nats.Subscription // requests for readers (readers.go), nil until start
	quit    context.Context    // ends when the server stops: readers leave
	endQuit context.CancelFunc
	readers atomic.Int64 // running
	idle    atomic.Int64 // waiting for a request
	// readersMu orders starting a reader with ending quit, so that no
	// reader starts once stop waits for them.
	readersMu sync.Mutex
	alive     int           // reader goroutines not yet returned; guarded by readersMu
	gone      chan struct{} // closed once quit has ended and no reader is alive
	inflight  sync.WaitGroup
	active    atomic.Int64 // calls in inflight, counted like it: read under stopMu
	stopMu    sync.Mutex
	stopping  bool // guarded by stopMu
	subs      []*nats.Subscription

	badReplies atomic.Int64 // requests refused for their reply subject
	streams    streamSet    // open streams (stream.go)
}

type endpoint struct {
	Endpoint
	strict  bool // the input is a struct: refuse unknown fields, check validate tags
	subject string
	mdOnce  sync.Once
	md      map[string]string // $SRV.INFO endpoint metadata, made on the first INFO
	fast    fastCall          // nil: call by reflection
	mu      sync.Mutex
	stats   micro.EndpointStats
}

func newServer(nc *nats.Conn, o options, eps []Endpoint, life context.Context) *server {
	s := &server{
		nc: nc, o: o, id: nuid.Next(), started: time.Now().UTC(),
		eps: make(map[string]*endpoint, len(eps)), life: life, gone: make(chan struct{}),
	}
	s.quit, s.endQuit = context.WithCancel(context.Background())
	for _, ep := range eps {
		subj := bus.ServiceSubject(o.name, ep.Name)
		s.eps[ep.Name] = &endpoint{Endpoint: ep, subject: subj, strict: hasStruct(ep.In),
			fast:  fastCallOf(ep.fn.Interface()),
			stats: micro.EndpointStats{Name: ep.Name, Subject: subj, QueueGroup: QueueGroup}}
		s.names = append(s.names, ep.Name)
	}
	return s
}

// start subscribes (Run flushes).
func (s *server) start() error {
	sub, err := s.nc.QueueSubscribeSync(bus.ServiceWildcard(s.o.name), QueueGroup)
	if err != nil {
		return err
	}
	s.calls = sub
	// A synchronous subscription, for its limits: a channel subscription
	// is bounded by count only, and callQueue requests of up to the
	// server's max_payload each would be gigabytes.
	if err := sub.SetPendingLimits(callQueue, callQueueBytes); err != nil {
		return err
	}
	s.startReader()
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
		for _, subj := range bus.ControlSubjects(verb, s.o.name, s.id) {
			sub, err := s.nc.Subscribe(subj, s.monitor(verb))
			if err != nil {
				return err
			}
			s.subs = append(s.subs, sub)
		}
	}
	return nil
}

func (s *server) stop() {
	// The readers are told first and waited for before the steps below
	// wake other goroutines of this process (nats.go's flusher, the
	// drain's, each subscription's own): on a stopping child they are not
	// queued behind those. Requests that come meanwhile wait in the
	// subscription, to be answered 503 below.
	s.readersMu.Lock()
	s.endQuit()
	if s.alive == 0 {
		close(s.gone)
	}
	s.readersMu.Unlock()
	// Readers finish the call they are in; one stuck past the grace period
	// is left behind (a child is killed by its parent then).
	t := time.NewTimer(s.o.grace)
	select {
	case <-s.gone:
	case <-t.C:
	}
	t.Stop()
	if s.calls != nil {
		// The server is told to send no more requests; a round trip later
		// every request it routed here before is in the subscription (they
		// come before its answer), to be answered 503: none is left to time
		// out (TestStopAnswersEveryRequest). Also when the bus has stopped
		// routing calls here (bus.Bus.StopCalls): a call the server was
		// routing meanwhile can still come after it said so, and the round
		// trip gives it time to (embeddednats.Server.Divert).
		_ = s.calls.Drain()
		s.awaitRouted()
		s.refuseQueued()
	}
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
	s.streams.wait(s.o.grace)
	// What is buffered (the 503s, the unsubscribes) is not flushed here:
	// whoever owns the connection flushes or closes it (which writes it);
	// a child writes it with its end-of-log marker.
}

// minRouted bounds awaitRouted's round trip when the grace period is spent.
const minRouted = 250 * time.Millisecond

// awaitRouted makes a round trip to the server, within the grace period.
func (s *server) awaitRouted() {
	// Not skipped when Shutdown used up the grace period: without the round
	// trip, requests the server routed meanwhile reach no subscription and
	// time out at their callers. It takes ~150 µs; the floor bounds a dead server.
	ctx, cancel := context.WithTimeout(context.Background(), max(s.o.grace, minRouted))
	defer cancel()
	_ = s.nc.FlushWithContext(ctx)
}

func (s *server) identity() micro.ServiceIdentity {
	return micro.ServiceIdentity{Name: s.o.name, ID: s.id, Version: Version, Metadata: s.o.metadata}
}

func (s *server) monitor(verb micro.Verb) nats.MsgHandler {
	return func(m *nats.Msg) {
		if !s.replyAllowed(m) {
			return
		}
		var v any
		switch verb {
		case micro.PingVerb:
			v = micro.Ping{ServiceIdentity: s.identity(), Type: micro.PingResponseType}
		case micro.InfoVerb:
			info := micro.Info{ServiceIdentity: s.identity(), Type: micro.InfoResponseType,
				Description: s.o.description, Endpoints: []micro.EndpointInfo{}}
			for _, name := range s.names {
				info.Endpoints = append(info.Endpoints, micro.EndpointInfo{
					Name: name, Subject: s.eps[name].subject, QueueGroup: QueueGroup,
					Metadata: s.eps[name].metadata(),
				})
			}
			v = info
		case micro.StatsVerb:
			st := micro.Stats{ServiceIdentity: s.identity(), Type: micro.StatsResponseType, Started: s.started,
				Endpoints: []*micro.EndpointStats{}}
			for _, name := range s.names {
				ep := s.eps[name]
				ep.mu.Lock()
				es := ep.stats
				ep.mu.Unlock()
				st.Endpoints = append(st.Endpoints, &es)
			}
			v = st
		}
		data, _ := json.Marshal(v)
		_ = m.Respond(data)
	}
}

// metadata is the endpoint's $SRV.INFO metadata. It is made when first
// asked for, not at start: reflecting the JSON Schemas of a service's
// types takes a fresh process a good part of a millisecond.
func (ep *endpoint) metadata() map[string]string {
	ep.mdOnce.Do(func() { ep.md = endpointMetadata(ep.Endpoint) })
	return ep.md
}

// Keys of the $SRV.INFO metadata of an endpoint. The schemas are JSON
// Schema documents (see [JSONSchema]) in a string, as micro metadata is a
// map of strings; an endpoint without input or output has no key for it.
// A streaming endpoint has MetadataStream "true", and its out_schema is the
// schema of one item, marked with SchemaStreamKey.
const (
	MetadataInSchema  = "in_schema"
	MetadataOutSchema = "out_schema"
	MetadataDoc       = "doc"
	MetadataStream    = "stream"
)

// endpointMetadata is the $SRV.INFO metadata of ep: its doc, the JSON
// Schemas of its input and output (cached per type, so INFO stays cheap)
// and, for a stream, "stream": "true".
func endpointMetadata(ep Endpoint) map[string]string {
	md := map[string]string{}
	if ep.In != nil {
		md[MetadataInSchema] = string(JSONSchema(ep.In))
	}
	switch {
	case ep.Stream:
		md[MetadataStream] = "true"
		out := ep.Out
		if ep.fn.IsValid() {
			out = ep.fn.Type().Out(0) // the iter.Seq2: the item's schema, marked x-stream
		}
		md[MetadataOutSchema] = string(JSONSchema(out))
	case ep.Out != nil:
		md[MetadataOutSchema] = string(JSONSchema(ep.Out))
	}
	if ep.Doc != "" {
		md[MetadataDoc] = ep.Doc
	}
	return md
}

// replyAllowed refuses a request whose reply subject lies outside the inbox
// namespace: answering it would let whoever sent it make this service
// publish onto log., evt., life. or $SRV. subjects in its name. Such
// requests are dropped unanswered (there is nowhere safe to answer) and
// logged, the first and then every 1,000th.
func (s *server) replyAllowed(m *nats.Msg) bool {
	if m.Reply == "" || bus.IsInbox(m.Reply) {
		return true
	}
	if n := s.badReplies.Add(1); n == 1 || n%1000 == 0 {
		s.o.logger.Warn("request refused: reply subject outside the inbox namespace",
			"subject", m.Subject, "reply", m.Reply, "refused", n)
	}
	return false
}

func (s *server) onRequest(m *nats.Msg) {
	if !s.replyAllowed(m) {
		return
	}
	method := strings.TrimPrefix(m.Subject, bus.ServicePrefix+s.o.name+".")
	ep, ok := s.eps[method]
	if !ok {
		s.respondError(m, nil, CodeUnknownMethod, fmt.Sprintf("unknown method %q of %s; known: %s",
			method, s.o.name, strings.Join(s.names, ", ")))
		return
	}
	// The check and the count are one step, so that a call is either
	// refused or waited for by the drain.
	s.stopMu.Lock()
	if s.stopping {
		s.stopMu.Unlock()
		s.respondError(m, nil, CodeUnavailable, bus.ShuttingDown(s.o.name))
		return
	}
	s.inflight.Add(1)
	s.active.Add(1)
	s.stopMu.Unlock()
	s.handle(ep, m)
	s.active.Add(-1)
	s.inflight.Done()
}

func (s *server) handle(ep *endpoint, m *nats.Msg) {
	if ep.Stream || m.Header.Get(StreamHeader) != "" {
		s.openStream(ep, m)
		return
	}
	start := time.Now()
	out, code, msg := s.call(ep, m)
	// Counted before the reply, so that a caller asking $SRV.STATS after
	// its reply sees its call (respondError counts the error before too).
	ep.mu.Lock()
	ep.stats.NumRequests++
	ep.stats.ProcessingTime += time.Since(start)
	ep.stats.AverageProcessingTime = ep.stats.ProcessingTime / time.Duration(ep.stats.NumRequests)
	ep.mu.Unlock()
	var err error
	if code == 0 && int64(len(out)) > s.nc.MaxPayload() {
		code, msg = CodeInternal, fmt.Sprintf("%s: reply of %d bytes exceeds the bus's max payload of %d bytes",
			ep.Name, len(out), s.nc.MaxPayload())
	}
	if code != 0 {
		err = s.respondError(m, ep, code, msg)
	} else {
		err = m.Respond(out)
	}
	if err != nil && !errors.Is(err, nats.ErrMsgNoReply) {
		s.o.logger.Warn("reply failed", "method", ep.Name, "err", err)
	}
}

// call decodes the input, runs the method and encodes the output. A
// non-zero code means an error reply.
func (s *server) call(ep *endpoint, m *nats.Msg) (out []byte, code int, msg string) {
	var argv [2]reflect.Value
	args := argv[:1]
	ctx := s.life
	ms, data, code, msg := budgetOf(ep, m)
	if code != 0 {
		return nil, code, msg
	}
	if ms > 0 {
		cc := newCallCtx(ctx, time.Duration(ms)*time.Millisecond)
		defer cc.end()
		ctx = cc
	}
	args[0] = reflect.ValueOf(ctx)
	if ep.fast != nil {
		return ep.fast(s, ep, ctx, data)
	}
	if ep.In != nil {
		in := reflect.New(ep.In)
		if code, msg := decodeArgument(ep, data, in.Interface()); code != 0 {
			return nil, code, msg
		}
		if ep.strict {
			if err := Validate(in.Interface()); err != nil {
				return nil, CodeBadRequest, fmt.Sprintf("%s: %v", ep.Name, err)
			}
		}
		args = append(args, in.Elem())
	} else if code, msg := noArgument(ep, data); code != 0 {
		return nil, code, msg
	}
	results, panicked := invoke(ep.fn, args)
	if panicked != nil {
		s.o.logger.Error("method panicked", "method", ep.Name, "panic", fmt.Sprint(panicked.v), "stack", panicked.stack)
		return nil, CodeInternal, fmt.Sprintf("%s panicked: %v", ep.Name, panicked.v)
	}
	if errv := results[len(results)-1]; !errv.IsNil() {
		code, msg := codeOfCall(ctx, errv.Interface().(error))
		return nil, code, msg
	}
	if ep.Out == nil {
		return nil, 0, ""
	}
	out, err := EncodeJSON(results[0].Interface())
	if err != nil {
		return nil, CodeInternal, fmt.Sprintf("%s: encode result: %v", ep.Name, err)
	}
	return out, 0, ""
}

type panicValue struct {
	v     any
	stack string
}

func invoke(fn reflect.Value, args []reflect.Value) (results []reflect.Value, p *panicValue) {
	defer func() {
		if r := recover(); r != nil {
			p = &panicValue{v: r, stack: string(debug.Stack())}
		}
	}()
	return fn.Call(args), nil
}

// budgetOf returns a request's time budget in milliseconds (0: none),
// from its TimeoutHeader or its body's prefix (see AppendTimeoutPrefix;
// with both, the shorter), and its input, trimmed. A TimeoutHeader that is
// not a budget is ignored; a malformed prefix is a 400 (code).
func budgetOf(ep *endpoint, m *nats.Msg) (ms int64, input []byte, code int, msg string) {
	ms, input, err := cutTimeoutPrefix(m.Data)
	if err != nil {
		return 0, nil, CodeBadRequest, ep.Name + ": " + err.Error()
	}
	if v := m.Header.Get(TimeoutHeader); v != "" { // ParseInt("") allocates its error
		if h, err := strconv.ParseInt(v, 10, 64); err == nil && h > 0 && h <= maxTimeoutMS && (ms == 0 || h < ms) {
			ms = h
		}
	}
	return ms, bytes.TrimSpace(input), 0, ""
}

// maxTimeoutMS is the largest caller budget taken from TimeoutHeader; a
// larger one (it would overflow a Duration) means no deadline.
const maxTimeoutMS = int64(math.MaxInt64 / time.Millisecond)

// maxErrorLen bounds the error message in a reply header, so that the reply
// fits under the server's maximum payload whatever the error says.
const maxErrorLen = 4096

func (s *server) respondError(m *nats.Msg, ep *endpoint, code int, msg string) error {
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "") + "… (truncated)"
	}
	if ep != nil {
		ep.mu.Lock()
		ep.stats.NumErrors++
		ep.stats.LastError = fmt.Sprintf("%d:%s", code, msg)
		ep.mu.Unlock()
	}
	return m.RespondMsg(bus.ErrorReply(m.Reply, code, msg))
}

// hasStruct reports whether t is a struct or a pointer to one.
func hasStruct(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.Kind() == reflect.Struct
}

// decodeArgument decodes a call's input into in (a pointer to ep.In): a
// non-zero code and a message in the user's terms when it cannot.
func decodeArgument(ep *endpoint, data []byte, in any) (int, string) {
	if len(data) == 0 {
		return CodeBadRequest, fmt.Sprintf("%s takes an argument (%s); got none", ep.Name, typeWords(ep.In))
	}
	if err := decodeInput(data, in, ep.strict); err != nil {
		return CodeBadRequest, fmt.Sprintf("%s: bad argument: %v", ep.Name, err)
	}
	return 0, ""
}

// noArgument refuses an input for a method that takes none (null, {} and
// "" count as none).
func noArgument(ep *endpoint, data []byte) (int, string) {
	if len(data) > 0 && string(data) != "null" && string(data) != "{}" && string(data) != `""` {
		return CodeBadRequest, fmt.Sprintf("%s takes no argument; got %d bytes", ep.Name, len(data))
	}
	return 0, ""
}

// decodeInput decodes one JSON value into v; strict refuses unknown fields.
// Its errors name the JSON field in the user's terms (see [Decode]). null
// for a number, a bool or a string is refused, at the top as inside
// (silentField): encoding/json would leave the zero value, which a caller
// did not ask for (a gap of 0 ms is a flood). For a struct it stands for
// {}, as for a method without input. A key given twice is refused too.
func decodeInput(data []byte, v any, strict bool) error {
	if string(bytes.TrimSpace(data)) == "null" {
		if t := reflect.TypeOf(v).Elem(); isScalar(t.Kind()) {
			return &ValidationError{Fields: []FieldError{{Rule: "type", Value: "null",
				Message: "must be " + typeWords(t) + ", got null"}}}
		}
	}
	if !strict {
		if err := DecodeJSON(data, v); err != nil {
			return decodeError(data, reflect.TypeOf(v), err)
		}
		if f, found := silentField(data, reflect.TypeOf(v)); found {
			return &ValidationError{Fields: []FieldError{f}}
		}
		return nil
	}
	return decodeStrict(data, v)
}

// isScalar reports whether k is a kind for which JSON null means nothing.
func isScalar(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}
