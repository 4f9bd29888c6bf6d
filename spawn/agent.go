package spawn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
// Err, and the child's log records relayed to WithLogger's logger.
func OnAgent(name string) Option { return func(o *options) { o.agent = name } }

// An agent is a bgkit service called AGENT-<NAME> (see agentServiceName),
// served by service.Run, so that `bgkit ls` and `nats micro ls` list it;
// its one endpoint, svc.AGENT-<NAME>.kinds, lists what it spawns. What it
// is asked to do comes on bgkit.agent.<NAME>.{spawn, term, kill, lease}
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
// has not renewed its lease for 3 s. When ctx ends it terminates all of
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
	a := &agent{name: name, b: b, logger: logger.With("agent", name), services: map[string]*agentChild{}, ended: map[string]endedLease{}}
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
	ended    map[string]endedLease  // lease id → how its service exited, kept leaseTTL
	leases   sync.Map               // lease id → *leaseState
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

// respond answers a request with v as JSON, or err with the micro error
// headers (a *service.Error's code, else 500).
func (a *agent) respond(m *nats.Msg, v any, err error) {
	if err != nil {
		code := 500
		var se *service.Error
		if errors.As(err, &se) {
			code = se.Code
		}
		_ = a.b.Conn().PublishMsg(bus.ErrorReply(m.Reply, code, err.Error()))
		return
	}
	data, _ := json.Marshal(v)
	_ = a.b.Conn().Publish(m.Reply, data)
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
		"spawn": agentVerb(a.spawn), "term": agentVerb(a.term), "kill": agentVerb(a.kill), "lease": agentVerb(a.lease),
	} {
		sub, err := nc.Subscribe(agentCall(a.name, verb), func(m *nats.Msg) {
			if !bus.IsInbox(m.Reply) {
				return // bgkit answers only inboxes
			}
			a.calls.Add(1)
			go func() {
				defer a.calls.Done()
				v, err := h(context.WithoutCancel(ctx), m)
				a.respond(m, v, err)
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

// Shutdown terminates every service the agent runs.
func (a *agent) Shutdown(ctx context.Context) error {
	a.unsubscribe()
	a.calls.Wait() // the requests taken are answered (a spawn: its start)
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
	a.touch(req.Lease)
	o := buildOptions([]Option{WithName(req.Name), WithGrace(req.Grace), WithLogger(a.logger), WithLogLevel(req.Level)})
	h, err := start(context.WithoutCancel(ctx), request{bus: a.b, entry: e, kind: req.Kind, name: req.Name, args: req.Args, opts: o})
	if err != nil {
		a.mu.Lock()
		a.dropLeaseIfUnused(req.Lease)
		a.mu.Unlock()
		if errors.Is(err, ErrDuplicateName) {
			return agentSpawned{}, service.Errorf(409, "%v", err)
		}
		return agentSpawned{}, service.Errorf(500, "%v", err)
	}
	a.mu.Lock()
	a.services[req.Name] = &agentChild{h: h, lease: req.Lease}
	a.mu.Unlock()
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
	if t.Lease == "" || subtle.ConstantTimeCompare([]byte(t.Lease), []byte(s.lease)) != 1 {
		return nil, service.Errorf(403, "agent %s: %q was not spawned under that lease", a.name, t.Name)
	}
	return s, nil
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

// dropLeaseIfUnused forgets a lease no service holds, and reports whether
// it did; a.mu is held.
func (a *agent) dropLeaseIfUnused(lease string) bool {
	for _, s := range a.services {
		if s.lease == lease {
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
// and forgets the ends of leases older than leaseTTL.
func (a *agent) expireLeases() {
	a.mu.Lock()
	for lease, e := range a.ended {
		if time.Since(e.at) > leaseTTL {
			delete(a.ended, lease)
		}
	}
	var stale []*agentChild
	for _, s := range a.services {
		v, ok := a.leases.Load(s.lease)
		if !ok {
			continue
		}
		ls := v.(*leaseState)
		ls.mu.Lock()
		expired := time.Since(ls.seen) > leaseTTL
		ls.mu.Unlock()
		if expired && !s.h.stopping.isSet() {
			stale = append(stale, s)
		}
	}
	a.mu.Unlock()
	for _, s := range stale {
		a.logger.Warn("requester lease expired: stopping its service", "service", s.h.ServiceName())
		a.wg.Add(1)
		go func() { defer a.wg.Done(); _ = s.h.Terminate(context.Background()) }()
	}
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
	req := agentSpawn{Kind: kind, Name: name, Args: sr.args, Grace: o.grace, Level: *o.level, Lease: r.lease}
	if kind == "" {
		req.Key = sr.entry.key
	}
	data, _ := json.Marshal(req)
	sctx, cancel := context.WithTimeout(ctx, o.startTimeout)
	defer cancel()
	reply, err := bus.Request(sctx, nc, &nats.Msg{Subject: agentCall(o.agent, "spawn"), Data: data}, 0)
	if code, msg, failed := bus.ReplyError(reply); err == nil && failed {
		err = agentErr(code, msg)
	} else if errors.Is(err, nats.ErrNoResponders) {
		err = fmt.Errorf("%w: %s", ErrNoAgent, o.agent)
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
