package spawn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
	"github.com/bgkit/bgkit/service"
)

// Errors of agents.
var (
	// ErrNoAgent: no agent of that name answers on the bus.
	ErrNoAgent = errors.New("no such agent")
	// ErrAgentLost: the agent running a service stopped answering; its
	// children stop with it.
	ErrAgentLost = errors.New("agent lost")
)

// OnAgent spawns the service through the agent called name (see
// ServeAgent, `bgkit agent --name`) on the machine it runs on, instead of
// as a local child. The handle behaves like a local one: Terminate, Done,
// Err, and the child's log records relayed to WithLogger's logger. A start
// given up (Run's ctx ends, or WithStartTimeout's timeout passes) is given
// up on the agent too, and Run returns once the agent's child is gone, as
// it does for a local one.
func OnAgent(name string) Option { return func(o *options) { o.agent = name } }

// An agent is a bgkit service called AGENT-<NAME> (see agentServiceName),
// served by service.Run, so that `bgkit ls` and `nats micro ls` list it;
// its one endpoint, svc.AGENT-<NAME>.kinds, lists what it spawns. What it
// is asked to do comes on bgkit.agent.<NAME>.{spawn, abort, term, kill, lease}
// (agentCall), outside svc.>: every child may call services, and a child
// that could call an agent's spawn would start any registered kind under
// any free name as the agent's trusted child (a name taken from the
// parent, a process answering for it). Children may not publish on
// bgkit.>. Exit events go out on bgkit.agent.<NAME>.exit.<lease>.
func agentServiceName(agent string) string { return "AGENT-" + agent }

func agentSubject(agent, verb string) string { return bus.AgentSubject(agent, verb) }

// agentCall is the subject of an agent's request verb.
func agentCall(agent, verb string) string { return bus.AgentSubject(agent, verb) }

// Lease timing: a requester renews every leaseRenew; an agent stops what
// a requester spawned when leaseTTL passes without a renewal.
const (
	leaseRenew = 500 * time.Millisecond
	leaseTTL   = 3 * time.Second
)

type agentSpawn struct {
	Kind  string          `json:"kind,omitempty"`
	Key   string          `json:"key,omitempty"`
	Name  string          `json:"name"`
	Args  json.RawMessage `json:"args"`
	Grace time.Duration   `json:"grace"`
	Level slog.Level      `json:"level"`
	Lease string          `json:"lease"`
	// StartTimeout is what is left of the requester's start timeout (and
	// its ctx's deadline) as it asks: the agent gives the start up when it
	// passes, as the requester does. A requester that sends it renews its
	// lease while it waits, and the agent gives the start up too when the
	// lease expires (the requester is gone). Absent (an older requester):
	// the agent's default, 30 s, and no expiry before the service serves.
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
}

// agentAborted answers an abort. Error is how the start given up ended
// (the agent's ErrStart message, which says whether its child had to be
// killed), or how its service stopped if it had come to serve; empty if
// the agent had not begun the start: it refuses the spawn if it comes.
type agentAborted struct {
	Error string `json:"error,omitempty"`
}

// agentLeaseReply answers a renewal. Exit is the exit event of the
// lease's service when it has exited in the last leaseTTL: the event is a
// plain message and may have been lost on its way (a full subscription,
// a reconnect), and the requester learns from the renewal how its
// service ended instead of taking its agent for lost.
type agentLeaseReply struct {
	Exit *agentExit `json:"exit,omitempty"`
}

type agentSpawned struct {
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// LogInbox is the child's log handler's inbox: the requester's relay
	// asks there for records it missed before its first.
	LogInbox string `json:"log_inbox,omitempty"`
}

type agentExit struct {
	OK      bool       `json:"ok"` // a clean exit (status 0)
	PID     int        `json:"pid"`
	Exit    *ExitError `json:"exit,omitempty"`    // how it exited, if not cleanly
	Error   string     `json:"error,omitempty"`   // an exit that is no ExitError
	Flushed bool       `json:"flushed,omitempty"` // the child sent its end-of-log marker
	Lost    bool       `json:"lost,omitempty"`    // the requester lost the agent
}

// ServeAgent runs an agent called name on b until ctx ends: it spawns
// registered service kinds on request (never arbitrary commands) as its own
// children, reports their exits, and stops every service whose requester
// has not renewed its lease for 3 s (and gives up its start in progress).
// When ctx ends it gives up the starts in progress and terminates all of
// them. Its children die with it.
func ServeAgent(ctx context.Context, b *bus.Bus, name string, logger *slog.Logger) error {
	if err := bus.ValidateName(name); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	svcName := agentServiceName(name)
	if err := bus.ValidateName(svcName); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	if served(ctx, b.Conn(), svcName) {
		return fmt.Errorf("agent %s: another agent of that name answers on this bus", name)
	}
	a := &agent{name: name, b: b, logger: logger.With("agent", name), services: map[string]*agentChild{},
		starting: map[string]*agentStart{}, ended: map[string]endedLease{}, aborted: map[string]time.Time{}}
	err := service.Run(ctx, b, a,
		service.WithName(svcName),
		service.WithLogger(a.logger),
		service.WithDescription("bgkit agent "+name+": spawns registered kinds on this machine"),
		service.WithMetadata(map[string]string{"agent": name, "kinds": strings.Join(Kinds(), ",")}),
		// Shutdown terminates every child, each within its own grace period.
		service.WithShutdownTimeout(time.Minute),
		service.WithOnReady(func(service.Info) { a.logger.Info("agent ready", "kinds", Kinds()) }),
	)
	if err != nil {
		return fmt.Errorf("agent %s: %w", name, err)
	}
	a.logger.Info("agent stopped")
	return nil
}

// agent is the service an agent serves.
type agent struct {
	name   string
	b      *bus.Bus
	logger *slog.Logger
	wg     sync.WaitGroup
	stop   chan struct{} // ends the lease expiry loop

	subs  []*nats.Subscription // bgkit.agent.<NAME>.*
	calls sync.WaitGroup       // requests being answered

	mu       sync.Mutex
	services map[string]*agentChild // by service name
	starting map[string]*agentStart // starts in progress, by service name
	ended    map[string]endedLease  // lease id → how its service exited, kept leaseTTL
	aborted  map[string]time.Time   // lease id → when a start not yet begun was aborted, kept leaseTTL
	// abortOrder is aborted's entries as they came, for forgetAborts.
	abortOrder []abortedLease
	closing    bool     // Shutdown has given up the starts: no more begin
	leases     sync.Map // lease id → *leaseState
}

func (a *agent) unsubscribe() {
	for _, sub := range a.subs {
		_ = sub.Unsubscribe()
	}
	a.subs = nil
}

// agentVerb decodes a request's JSON body for f.
func agentVerb[In, Out any](f func(context.Context, In) (Out, error)) func(context.Context, *nats.Msg) (any, error) {
	return func(ctx context.Context, m *nats.Msg) (any, error) {
		var in In
		if err := json.Unmarshal(m.Data, &in); err != nil {
			return nil, service.Errorf(400, "bad argument: %v", err)
		}
		return f(ctx, in)
	}
}

// errorCode is the Nats-Service-Error-Code an agent answers err with: a
// *service.Error's code, else 500.
func errorCode(err error) int {
	if se, ok := errors.AsType[*service.Error](err); ok {
		return se.Code
	}
	return 500
}

// endedLease is a lease whose service exited at at.
type endedLease struct {
	exit agentExit
	at   time.Time
}

type agentChild struct {
	h     *Handle
	lease string
}

// agentStart is a spawn in progress.
type agentStart struct {
	lease string
	// renewed: the requester renews its lease during the start (it sent
	// StartTimeout), so an expired lease gives the start up.
	renewed bool
	cancel  context.CancelCauseFunc // gives the start up: its child is stopped as Terminate stops it
	givenUp bool                    // cancel was called; under the agent's mu
	done    chan struct{}           // closed once the start has ended: serving, or its child gone
	err     error                   // why it does not serve; set before done is closed
}

// giveUp cancels the start, for why (one of the errGivenUp… errors,
// which its answer then says); the agent's mu is held.
func (st *agentStart) giveUp(why error) {
	st.givenUp = true
	st.cancel(why)
}

// testHookAgentStarted, if set (by tests), runs in an agent's spawn once
// its start has returned, before the spawn sees whether it was given up.
var testHookAgentStarted func(a *agent, name string)

// Why an agent gives a start up: its answer (to the spawn, to an abort)
// says which, not a bare "context canceled".
var (
	errAbortedStart  = errors.New("aborted by its requester")
	errLeaseExpired  = errors.New("given up: its requester's lease expired (no renewal for " + leaseTTL.String() + ")")
	errAgentShutdown = errors.New("given up: the agent is shutting down")
)

type leaseState struct {
	mu   sync.Mutex
	seen time.Time
}

// Kinds lists the kinds this agent spawns.
func (a *agent) Kinds(context.Context) ([]string, error) { return Kinds(), nil }

// Initialize answers the requests on bgkit.agent.<NAME>.* and starts
// expiring the leases of requesters that went quiet.
func (a *agent) Initialize(ctx context.Context) error {
	nc := a.b.Conn()
	for verb, h := range map[string]func(context.Context, *nats.Msg) (any, error){
		"spawn": agentVerb(a.spawn), "abort": agentVerb(a.abort), "term": agentVerb(a.term), "kill": agentVerb(a.kill),
		"lease": agentVerb(a.lease),
	} {
		sub, err := nc.Subscribe(agentCall(a.name, verb), func(m *nats.Msg) {
			if !bus.IsInbox(m.Reply) {
				return // bgkit answers only inboxes
			}
			a.calls.Add(1)
			go func() {
				defer a.calls.Done()
				v, err := h(context.WithoutCancel(ctx), m)
				bus.Respond(m, v, errorCode(err), err)
			}()
		})
		if err != nil {
			a.unsubscribe()
			return fmt.Errorf("agent %s: %w", a.name, err)
		}
		a.subs = append(a.subs, sub)
	}
	if err := nc.Flush(); err != nil {
		a.unsubscribe()
		return fmt.Errorf("agent %s: %w", a.name, err)
	}
	a.stop = make(chan struct{})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ticker := time.NewTicker(leaseRenew)
		defer ticker.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-ticker.C:
				a.expireLeases()
			}
		}
	}()
	return nil
}

// Shutdown gives up the starts in progress and terminates every service
// the agent runs.
func (a *agent) Shutdown(ctx context.Context) error {
	a.unsubscribe()
	a.mu.Lock()
	a.closing = true
	for _, st := range a.starting {
		st.giveUp(errAgentShutdown)
	}
	a.mu.Unlock()
	a.calls.Wait() // the requests taken are answered (a spawn: once its child is gone)
	close(a.stop)
	a.terminateAll()
	a.wg.Wait()
	return nil
}

// Spawn starts a registered kind (or type key) under a requester's lease.
func (a *agent) spawn(ctx context.Context, req agentSpawn) (agentSpawned, error) {
	if req.Lease == "" {
		return agentSpawned{}, service.Errorf(400, "spawn request without a lease")
	}
	// The lease is a token of the exit events' subject.
	if err := bus.ValidateTopic(req.Lease); err != nil {
		return agentSpawned{}, service.Errorf(400, "bad lease: %v", err)
	}
	var e *entry
	var ok bool
	switch {
	case req.Kind != "":
		e, ok = lookupKind(req.Kind)
	case req.Key != "":
		e, ok = lookupKey(req.Key)
	}
	if !ok {
		return agentSpawned{}, service.Errorf(404, "agent %s: %v: kind %q key %q (known kinds: %v)", a.name, ErrNotRegistered, req.Kind, req.Key, Kinds())
	}
	if req.StartTimeout < 0 {
		return agentSpawned{}, service.Errorf(400, "negative start_timeout %v", req.StartTimeout)
	}
	opts := []Option{WithName(req.Name), WithGrace(req.Grace), WithLogger(a.logger), WithLogLevel(req.Level)}
	if req.StartTimeout > 0 {
		opts = append(opts, WithStartTimeout(req.StartTimeout))
	}
	o := buildOptions(opts)
	// The start ends when it serves, fails, times out, or is given up
	// (abort, the lease's expiry, Shutdown): then its child is stopped as
	// Terminate stops it, and the spawn is answered once it is gone.
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	st := &agentStart{lease: req.Lease, renewed: req.StartTimeout > 0, cancel: cancel, done: make(chan struct{})}
	a.mu.Lock()
	closing := a.closing
	_, aborted := a.aborted[req.Lease]
	_, busy := a.starting[req.Name]
	if !closing && !aborted && !busy {
		a.starting[req.Name] = st
	}
	a.mu.Unlock()
	switch {
	case closing:
		return agentSpawned{}, service.Errorf(503, "agent %s is shutting down", a.name)
	case aborted:
		return agentSpawned{}, service.Errorf(410, "agent %s: the start of %s under that lease was aborted", a.name, req.Name)
	case busy:
		return agentSpawned{}, service.Errorf(409, "agent %s: %v: %s is being started", a.name, ErrDuplicateName, req.Name)
	}
	defer close(st.done)
	a.touch(req.Lease)
	h, err := start(sctx, request{bus: a.b, entry: e, kind: req.Kind, name: req.Name, args: req.Args, opts: o})
	if testHookAgentStarted != nil {
		testHookAgentStarted(a, req.Name)
	}
	a.mu.Lock()
	givenUp := st.givenUp
	if err != nil || !givenUp {
		delete(a.starting, req.Name)
	}
	if err == nil && !givenUp {
		a.services[req.Name] = &agentChild{h: h, lease: req.Lease}
		// The requester renews from a tick after the answer: the lease
		// counts from now, not from a start slower than its lifetime.
		a.touch(req.Lease)
	}
	a.mu.Unlock()
	if err == nil && givenUp {
		// Given up as it came to serve: stopped before anyone learns of it.
		// It stays a start in progress until its child is gone, so that
		// an abort meanwhile waits for that (TestAbortWhileAGivenUpStartStops)
		// and a spawn of its name is refused as busy.
		err = fmt.Errorf("spawn %s: %w: %v", req.Name, ErrStart, context.Cause(sctx))
		if xerr := h.Terminate(context.Background()); xerr != nil {
			err = fmt.Errorf("%w; then stopped: %v", err, xerr)
		}
		a.mu.Lock()
		delete(a.starting, req.Name)
		a.mu.Unlock()
	}
	if err != nil {
		st.err = err
		a.mu.Lock()
		a.dropLeaseIfUnused(req.Lease)
		a.mu.Unlock()
		if errors.Is(err, ErrDuplicateName) {
			return agentSpawned{}, service.Errorf(409, "%v", err)
		}
		return agentSpawned{}, service.Errorf(500, "%v", err)
	}
	a.logger.Info("spawned for a requester", "service", req.Name, "pid", h.PID())
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		<-h.Done()
		ev := agentExit{OK: h.Err() == nil, PID: h.PID()}
		if p, ok := h.current().(*process); ok {
			ev.Flushed = p.Flushed()
		}
		if !errors.As(h.Err(), &ev.Exit) && h.Err() != nil {
			ev.Error = h.Err().Error()
		}
		data, _ := json.Marshal(ev)
		// The exit event goes out before the lease is dropped, so the
		// requester sees it before any 404 to a renewal.
		_ = a.b.Conn().Publish(agentSubject(a.name, "exit."+req.Lease), data)
		a.mu.Lock()
		delete(a.services, req.Name)
		if a.dropLeaseIfUnused(req.Lease) {
			a.ended[req.Lease] = endedLease{exit: ev, at: time.Now()}
		}
		a.mu.Unlock()
	}()
	sp := agentSpawned{PID: h.PID(), Host: hostname}
	if p, ok := h.current().(*process); ok {
		sp.LogInbox = p.relay.Inbox()
	}
	return sp, nil
}

// agentTarget names a service an agent runs, and the lease of the
// requester that spawned it: only that requester may stop it (any client
// on the bus can call the agent; the lease travels only to the agent).
type agentTarget struct {
	Name  string `json:"name"`
	Lease string `json:"lease"`
}

func (a *agent) lookup(t agentTarget) (*agentChild, error) {
	a.mu.Lock()
	s, ok := a.services[t.Name]
	a.mu.Unlock()
	if !ok {
		return nil, service.Errorf(404, "agent %s runs no service %q", a.name, t.Name)
	}
	if !sameLease(t.Lease, s.lease) {
		return nil, service.Errorf(403, "agent %s: %q was not spawned under that lease", a.name, t.Name)
	}
	return s, nil
}

// sameLease reports whether a request's lease is the one held, in
// constant time.
func sameLease(asked, held string) bool {
	return asked != "" && subtle.ConstantTimeCompare([]byte(asked), []byte(held)) == 1
}

// Abort gives up a start its requester gave up (its ctx ended, or its
// start timeout passed, before the answer came): the child is stopped as
// Terminate stops it — Initialize's ctx ends; killed after its grace —
// and abort is answered once it is gone, so that the name is free again.
// A service that came to serve meanwhile is terminated; a start the agent
// has not begun (the spawn is still on its way) is refused when it comes.
// Only the lease the start was asked under aborts it.
func (a *agent) abort(ctx context.Context, t agentTarget) (agentAborted, error) {
	if err := bus.ValidateName(t.Name); err != nil {
		return agentAborted{}, service.Errorf(400, "bad name: %v", err)
	}
	if t.Lease == "" {
		return agentAborted{}, service.Errorf(400, "abort request without a lease")
	}
	if err := bus.ValidateTopic(t.Lease); err != nil {
		return agentAborted{}, service.Errorf(400, "bad lease: %v", err)
	}
	refused := service.Errorf(403, "agent %s: %q was not spawned under that lease", a.name, t.Name)
	a.mu.Lock()
	if st, ok := a.starting[t.Name]; ok {
		if !sameLease(t.Lease, st.lease) {
			a.mu.Unlock()
			return agentAborted{}, refused
		}
		a.logger.Info("requester gave up the start: stopping it", "service", t.Name)
		// Cancelled under a.mu, which spawn takes to decide whether its
		// start serves: it sees the cancel, and st.err says how it ended.
		st.giveUp(errAbortedStart)
		a.mu.Unlock()
		<-st.done
		return agentAborted{Error: st.err.Error()}, nil
	}
	if s, ok := a.services[t.Name]; ok {
		a.mu.Unlock()
		if !sameLease(t.Lease, s.lease) {
			return agentAborted{}, refused
		}
		a.logger.Info("requester gave up the start: stopping its service", "service", t.Name)
		if err := s.h.Terminate(context.Background()); err != nil {
			return agentAborted{Error: err.Error()}, nil
		}
		return agentAborted{Error: "started, then stopped"}, nil
	}
	// Kept for leaseTTL, so that the spawn is refused if it comes; any
	// client may abort with leases it makes up, so at most maxAbortsKept.
	// One not kept costs the requester little: its spawn, if it comes,
	// is given up when its lease expires (the requester renews no more).
	if len(a.aborted) >= maxAbortsKept {
		a.forgetAborts()
	}
	if len(a.aborted) >= maxAbortsKept {
		a.mu.Unlock()
		return agentAborted{}, service.Errorf(503, "agent %s: too many aborts of starts not begun: the start of %s, if it comes, is given up when its lease expires", a.name, t.Name)
	}
	now := time.Now()
	a.aborted[t.Lease] = now
	a.abortOrder = append(a.abortOrder, abortedLease{t.Lease, now})
	a.mu.Unlock()
	return agentAborted{}, nil
}

// maxAbortsKept bounds the aborts of starts not begun an agent keeps.
const maxAbortsKept = 4096

// abortedLease is an entry of agent.abortOrder.
type abortedLease struct {
	lease string
	at    time.Time
}

// forgetAborts forgets the aborts older than leaseTTL, oldest first; a.mu
// is held.
func (a *agent) forgetAborts() {
	n := 0
	for _, e := range a.abortOrder {
		if time.Since(e.at) <= leaseTTL {
			break
		}
		if at, ok := a.aborted[e.lease]; ok && at.Equal(e.at) { // not aborted again since
			delete(a.aborted, e.lease)
		}
		n++
	}
	a.abortOrder = slices.Delete(a.abortOrder, 0, n)
}

// Term asks a service to stop (Terminate, in the background).
func (a *agent) term(ctx context.Context, t agentTarget) (bool, error) {
	s, err := a.lookup(t)
	if err != nil {
		return false, err
	}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); _ = s.h.Terminate(context.Background()) }()
	return true, nil
}

// Kill kills a service's process group.
func (a *agent) kill(ctx context.Context, t agentTarget) (bool, error) {
	s, err := a.lookup(t)
	if err != nil {
		return false, err
	}
	s.h.stopping.set()
	s.h.current().Kill()
	return true, nil
}

// agentLease names a requester's lease; empty for a liveness probe.
type agentLease struct {
	Lease string `json:"lease"`
}

// Lease renews a lease. A lease whose service exited in the last
// leaseTTL is answered with its exit event. One this agent does not hold
// — it never granted it, or its service exited longer ago — is answered
// 404, so that a requester whose agent was replaced learns its service
// is gone.
func (a *agent) lease(ctx context.Context, l agentLease) (agentLeaseReply, error) {
	if l.Lease == "" {
		return agentLeaseReply{}, nil
	}
	if _, ok := a.leases.Load(l.Lease); ok {
		a.touch(l.Lease)
		return agentLeaseReply{}, nil
	}
	// The lease is dropped and its end recorded under a.mu at once.
	a.mu.Lock()
	e, ok := a.ended[l.Lease]
	a.mu.Unlock()
	if !ok {
		return agentLeaseReply{}, service.Errorf(404, "agent %s holds no lease %s", a.name, l.Lease)
	}
	return agentLeaseReply{Exit: &e.exit}, nil
}

// dropLeaseIfUnused forgets a lease no service or start holds, and
// reports whether it did; a.mu is held.
func (a *agent) dropLeaseIfUnused(lease string) bool {
	for _, s := range a.services {
		if s.lease == lease {
			return false
		}
	}
	for _, st := range a.starting {
		if st.lease == lease {
			return false
		}
	}
	a.leases.Delete(lease)
	return true
}

func (a *agent) touch(lease string) {
	v, _ := a.leases.LoadOrStore(lease, &leaseState{})
	ls := v.(*leaseState)
	ls.mu.Lock()
	ls.seen = time.Now()
	ls.mu.Unlock()
}

// expireLeases terminates the services of requesters that went quiet,
// gives up their starts, and forgets the ends and aborts of leases older
// than leaseTTL.
func (a *agent) expireLeases() {
	a.mu.Lock()
	for lease, e := range a.ended {
		if time.Since(e.at) > leaseTTL {
			delete(a.ended, lease)
		}
	}
	a.forgetAborts()
	var stale []*agentChild
	for _, s := range a.services {
		if a.expired(s.lease) && !s.h.stopping.isSet() {
			stale = append(stale, s)
		}
	}
	for name, st := range a.starting {
		if st.renewed && !st.givenUp && a.expired(st.lease) {
			a.logger.Warn("requester lease expired: giving up its start", "service", name)
			st.giveUp(errLeaseExpired)
		}
	}
	a.mu.Unlock()
	for _, s := range stale {
		a.logger.Warn("requester lease expired: stopping its service", "service", s.h.ServiceName())
		a.wg.Add(1)
		go func() { defer a.wg.Done(); _ = s.h.Terminate(context.Background()) }()
	}
}

// expired reports whether lease went unrenewed for leaseTTL.
func (a *agent) expired(lease string) bool {
	v, ok := a.leases.Load(lease)
	if !ok {
		return false
	}
	ls := v.(*leaseState)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return time.Since(ls.seen) > leaseTTL
}

func (a *agent) terminateAll() {
	a.mu.Lock()
	var all []*Handle
	for _, s := range a.services {
		all = append(all, s.h)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, h := range all {
		wg.Add(1)
		go func() { defer wg.Done(); _ = h.Terminate(context.Background()) }()
	}
	wg.Wait()
}

// remote is an instance run by an agent.
type remote struct {
	nc       *nats.Conn
	agent    string
	name     string
	lease    string
	pid      int
	host     string // the agent's machine
	relay    *logfwd.Relay
	exitSub  *nats.Subscription
	exits    chan *nats.Msg // exitSub's messages
	verdict  chan agentExit // the renewals' word on the service's end
	grace    time.Duration
	termAt   time.Time // set by Term; read by watch after observed
	termMu   sync.Mutex
	observed chan struct{} // closed when the exit event has come
	exited   chan struct{}
	err      error
	stop     chan struct{} // ends the lease renewals
	logger   *slog.Logger
}

func launchRemote(ctx context.Context, sr request) (*remote, error) {
	nc, name, o, kind := sr.bus.Conn(), sr.name, sr.opts, sr.kind
	if served(ctx, nc, name) {
		return nil, fmt.Errorf("spawn %s: %w: %s already answers on this bus", name, ErrDuplicateName, name)
	}
	// The lease is what lets this process stop its service (agentTarget):
	// random, not a NUID, which a child that saw one of ours could guess.
	r := &remote{nc: nc, agent: o.agent, name: name, lease: rand.Text(), grace: o.grace,
		observed: make(chan struct{}), exited: make(chan struct{}), stop: make(chan struct{}),
		exits: make(chan *nats.Msg, 16), verdict: make(chan agentExit, 1),
		logger: o.logger.With("service", name, "agent", o.agent)}
	var err error
	// A channel that junk can fill drops what comes next, the real
	// event too: the renewals then bring it (agentLeaseReply).
	if r.exitSub, err = nc.ChanSubscribe(agentSubject(o.agent, "exit."+r.lease), r.exits); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	if r.relay, err = logfwd.NewRelay(sr.bus.LogConn(), bus.LogSubject(name), o.logger.Handler(),
		slog.String("service", name), slog.String("agent", o.agent)); err != nil {
		_ = r.exitSub.Unsubscribe()
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	sctx, cancel := context.WithTimeout(ctx, o.startTimeout)
	defer cancel()
	deadline, _ := sctx.Deadline()
	// The agent gives the start up when this process does (StartTimeout),
	// or when it goes away (the renewals stop); when this process gives up
	// first, it says so (abort).
	req := agentSpawn{Kind: kind, Name: name, Args: sr.args, Grace: o.grace, Level: *o.level, Lease: r.lease,
		StartTimeout: max(time.Until(deadline).Round(time.Millisecond), time.Millisecond)}
	if kind == "" {
		req.Key = sr.entry.key
	}
	data, _ := json.Marshal(req)
	stopRenewing := r.renewWhileStarting()
	reply, err := bus.Request(sctx, nc, &nats.Msg{Subject: agentCall(o.agent, "spawn"), Data: data}, 0)
	stopRenewing()
	if code, msg, failed := bus.ReplyError(reply); err == nil && failed {
		err = agentErr(code, msg)
	} else if errors.Is(err, nats.ErrNoResponders) {
		err = fmt.Errorf("%w: %s", ErrNoAgent, o.agent)
	} else if err != nil && sctx.Err() != nil {
		err = r.giveUp(ctx, o.startTimeout)
	}
	var sp agentSpawned
	if err == nil {
		err = json.Unmarshal(reply.Data, &sp)
	}
	if err != nil {
		_ = r.relay.Close()
		_ = r.exitSub.Unsubscribe()
		return nil, fmt.Errorf("spawn %s on agent %s: %w", name, o.agent, err)
	}
	r.pid, r.host = sp.PID, sp.Host
	r.relay.SetInbox(sp.LogInbox)
	go r.renew()
	go r.watch()
	return r, nil
}

// renewWhileStarting renews the lease until the returned func is called,
// which waits for the renewals to end: while the agent starts the service,
// so that it gives the start up if this process goes away. The answers do
// not matter: a renewal that comes before the agent has the spawn is 404.
func (r *remote) renewWhileStarting() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	data, _ := json.Marshal(agentLease{Lease: r.lease})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseRenew)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			_, _ = bus.Request(ctx, r.nc, &nats.Msg{Subject: agentCall(r.agent, "lease"), Data: data}, leaseRenew)
		}
	}()
	return func() { cancel(); <-done }
}

// giveUp is the error of a start this process gave up before the agent
// answered: ctx ended, or the start timeout passed. It tells the agent
// (abort) and waits for its answer, which comes once the child is gone —
// stopped as Terminate stops it, within its grace — as a local start
// given up returns once its child is gone.
func (r *remote) giveUp(ctx context.Context, timeout time.Duration) error {
	err := fmt.Errorf("%w: not serving after %v", ErrStart, timeout)
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ErrStart, ctx.Err())
	}
	data, _ := json.Marshal(agentTarget{Name: r.name, Lease: r.lease})
	// The agent's stop takes the grace, then a kill and the logs' drain.
	reply, aerr := bus.Request(context.Background(), r.nc, &nats.Msg{Subject: agentCall(r.agent, "abort"), Data: data}, r.grace+abortSlack)
	var ab agentAborted
	if code, msg, failed := bus.ReplyError(reply); aerr == nil && failed {
		aerr = fmt.Errorf("%d %s", code, msg)
	} else if aerr == nil {
		aerr = json.Unmarshal(reply.Data, &ab)
	}
	switch {
	case aerr != nil:
		return fmt.Errorf("%w; the agent was not told: %v", err, aerr)
	case ab.Error != "":
		return fmt.Errorf("%w; the agent stopped its start: %s", err, ab.Error)
	}
	return err
}

// abortSlack is how much longer than the grace giveUp waits for the
// agent's answer to abort.
const abortSlack = 5 * time.Second

// renew keeps the lease alive. Its answer after the service exited is
// the exit event; an agent that stops answering, or no longer knows the
// lease, is lost. Either is told to watch on r.verdict.
func (r *remote) renew() {
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	data, _ := json.Marshal(agentLease{Lease: r.lease})
	lastOK := time.Now()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		reply, err := bus.Request(context.Background(), r.nc, &nats.Msg{Subject: agentCall(r.agent, "lease"), Data: data}, leaseRenew)
		code, msg, failed := bus.ReplyError(reply)
		var lr agentLeaseReply
		switch {
		case err == nil && failed && code == 404:
			// The agent does not know our lease: it was replaced (or our
			// service exited long ago). Either way the service is gone.
			r.verdict <- agentExit{PID: r.pid, Lost: true, Error: msg}
			return
		case err == nil && !failed && json.Unmarshal(reply.Data, &lr) == nil && lr.Exit != nil:
			r.verdict <- *lr.Exit
			return
		case err == nil:
			lastOK = time.Now()
		case time.Since(lastOK) > leaseTTL:
			r.verdict <- agentExit{PID: r.pid, Lost: true, Error: err.Error()}
			return
		}
	}
}

// watch waits for the exit event, then for the logs, and closes exited.
func (r *remote) watch() {
	var ev agentExit
	for done := false; !done; {
		select {
		case m := <-r.exits:
			// Only the agent publishes here, once, with the service's
			// PID: anything else is junk, not an exit.
			var e agentExit
			if json.Unmarshal(m.Data, &e) == nil && e.PID == r.pid {
				ev, done = e, true
			}
		case ev = <-r.verdict:
			done = true
		}
	}
	exitAt := time.Now()
	close(r.observed)
	close(r.stop)
	r.termMu.Lock()
	termAt := r.termAt
	r.termMu.Unlock()
	budget, cancel := newStopBudget(r.logger, r.grace, termAt, exitAt)
	budget.drainLogs(r.relay, ev.Flushed)
	cancel()
	_ = r.relay.Close()
	_ = r.exitSub.Unsubscribe()
	switch {
	case ev.Lost:
		r.err = fmt.Errorf("%s: %w: %s stopped answering (%s)", r.name, ErrAgentLost, r.agent, ev.Error)
		// The agent cannot say so: the requester does.
		le := exitedEvent(r.name, "", r.pid, r.err)
		le.Host = r.host
		publishLife(r.nc, r.logger, le)
	case ev.Error != "":
		r.err = fmt.Errorf("%s on agent %s: %s", r.name, r.agent, ev.Error)
	case ev.Exit != nil:
		r.err = ev.Exit
	}
	close(r.exited)
}

func (r *remote) PID() int                  { return r.pid }
func (r *remote) Observed() <-chan struct{} { return r.observed }
func (r *remote) Exited() <-chan struct{}   { return r.exited }
func (r *remote) ExitErr() error            { return r.err }

func (r *remote) command(verb string) {
	data, _ := json.Marshal(agentTarget{Name: r.name, Lease: r.lease})
	if _, err := bus.Request(context.Background(), r.nc, &nats.Msg{Subject: agentCall(r.agent, verb), Data: data}, 2*time.Second); err != nil {
		r.logger.Warn("agent did not take "+verb, "err", err)
	}
}

func (r *remote) Term() {
	r.termMu.Lock()
	if r.termAt.IsZero() {
		r.termAt = time.Now()
	}
	r.termMu.Unlock()
	r.command("term")
}
func (r *remote) Kill() { r.command("kill") }

// agentError is an agent's error reply: its message, matching (errors.Is)
// the sentinel its code stands for and ErrStart.
type agentError struct {
	msg string
	is  []error
}

func (e *agentError) Error() string   { return e.msg }
func (e *agentError) Unwrap() []error { return e.is }

// agentErr turns an agent's error reply into an error that keeps its
// sentinel across the wire: 404 ErrNotRegistered, 409 ErrDuplicateName,
// anything else ErrStart.
func agentErr(code int, msg string) error {
	switch code {
	case 404:
		return &agentError{msg: msg, is: []error{ErrStart, ErrNotRegistered}}
	case 409:
		return &agentError{msg: msg, is: []error{ErrDuplicateName}}
	}
	return &agentError{msg: msg, is: []error{ErrStart}}
}
