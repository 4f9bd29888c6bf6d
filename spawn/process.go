package spawn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"golang.org/x/sys/unix"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/localsvc"
	"github.com/bgkit/bgkit/logfwd"
	"github.com/bgkit/bgkit/service"
)

// Errors a caller can match.
var (
	// ErrNotRegistered: the service type or kind was not registered.
	ErrNotRegistered = errors.New("not registered")
	// ErrDuplicateName: a service of that name is already running.
	ErrDuplicateName = errors.New("duplicate service name")
	// ErrNoMain: spawn.Main was not called in this binary, so a child would
	// not know it is one.
	ErrNoMain = errors.New("spawn.Main was not called first in main or TestMain")
	// ErrStart: the child did not come up; the error says why.
	ErrStart = errors.New("start failed")
)

// Run spawns the service made by ctor with args as a child process (this
// binary, re-executed) and returns once the child answers requests on b.
//
// args are validated (validate tags) before any process starts. A child
// that cannot start fails Run with an error carrying Initialize's message,
// the exit status and the tail of its stderr, and leaves no process behind.
func Run[A any, S service.Service](ctx context.Context, b *bus.Bus, ctor func(A) (S, error), args A, opts ...Option) (*Handle, error) {
	st := reflect.TypeFor[S]()
	o := buildOptions(opts)
	name := o.name
	if name == "" {
		name = service.DeriveName(st.String())
	}
	e, ok := lookupKey(typeKey(st))
	if !ok {
		return nil, fmt.Errorf("spawn %s: %w: call spawn.Register(%s) before spawn.Main", name, ErrNotRegistered, funcName(ctor))
	}
	if err := service.Validate(&args); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	data, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: encode arguments: %w", name, err)
	}
	return start(ctx, request{bus: b, entry: e, name: name, args: data, opts: o})
}

// RunKind spawns a service registered with RegisterKind, with args as JSON
// (empty means {}). Unknown fields and failed validation are refused before
// any process starts.
func RunKind(ctx context.Context, b *bus.Bus, kind string, args json.RawMessage, opts ...Option) (*Handle, error) {
	e, ok := lookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("spawn %s: %w (known kinds: %s)", kind, ErrNotRegistered, strings.Join(Kinds(), ", "))
	}
	o := buildOptions(opts)
	name := o.name
	if name == "" {
		name = service.DeriveName(e.typ.String())
	}
	if err := e.check(args); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	return start(ctx, request{bus: b, entry: e, kind: kind, name: name, args: args, opts: o})
}

// CheckKindArgs decodes and validates args for kind without spawning.
func CheckKindArgs(kind string, args json.RawMessage) error {
	e, ok := lookupKind(kind)
	if !ok {
		return fmt.Errorf("%w: kind %q (known kinds: %s)", ErrNotRegistered, kind, strings.Join(Kinds(), ", "))
	}
	return e.check(args)
}

func funcName(f any) string {
	return strings.TrimSuffix(runtimeFuncName(reflect.ValueOf(f).Pointer()), "-fm")
}

// bootstrap is what the parent writes to the child's fd 3.
type bootstrap struct {
	Key   string          `json:"key"`
	Name  string          `json:"name"`
	Args  json.RawMessage `json:"args"`
	Bus   bus.Credentials `json:"bus"`
	Grace time.Duration   `json:"grace"`
	Level slog.Level      `json:"level"`
	// ConnFD, if not 0, is a TCP connection to the bus the parent made
	// for the child (see predialFor). The parent holds its own copy until
	// it has the child's end-of-log marker (see childProc.conn).
	ConnFD int `json:"conn_fd,omitempty"`
	// ConnHello, if not empty, is the CONNECT and PING the parent sent on
	// ConnFD for the child (see authedConn).
	ConnHello string `json:"conn_hello,omitempty"`
	// Ready, if not empty, is an inbox of the parent's where the child
	// publishes its ready status too, right after its subscriptions: the
	// parent has it a round trip before the status pipe's.
	Ready string `json:"ready,omitempty"`
}

// status is what the child writes to fd 4.
type status struct {
	Ready   bool   `json:"ready,omitempty"`
	Flushed bool   `json:"flushed,omitempty"` // sent after the end-of-log marker
	ID      string `json:"id,omitempty"`
	Error   string `json:"error,omitempty"`
}

const envChild = "BGKIT_CHILD"

// envTree marks a child's descendants: the parent gives each child a
// token of its own in this variable, which what the service starts
// inherits (unless it is given an environment of its own), so that after
// a child ended by itself (a crash, os.Exit: it killed no tree) the
// descendants it left outside its process group are found and killed, as
// Jenkins' ProcessTreeKiller finds a build's (killMarked).
const envTree = "BGKIT_TREE"

// request is one spawn: what to run, under which name and arguments, with
// which options, on which bus.
type request struct {
	bus   *bus.Bus
	entry *entry
	kind  string // the registered kind; "" for a service spawned by constructor
	name  string
	args  []byte // JSON, validated
	opts  options
}

func start(ctx context.Context, req request) (*Handle, error) {
	if !mainCalled.Load() {
		return nil, fmt.Errorf("spawn %s: %w", req.name, ErrNoMain)
	}
	if err := bus.ValidateName(req.name); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", req.name, err)
	}
	h := newHandle(req.bus.Conn(), req.name, req.kind, req.opts)
	launch := func(ctx context.Context, onLaunch func(instance)) (instance, error) {
		return startLocal(ctx, req, h.stopping, onLaunch)
	}
	if req.opts.agent != "" {
		launch = func(ctx context.Context, _ func(instance)) (instance, error) {
			return launchRemote(ctx, req)
		}
	}
	first, err := launch(ctx, nil)
	if err != nil {
		return nil, err
	}
	h.cur = first
	if req.opts.restart.Mode != RestartNever {
		h.relaunch = launch
	}
	go h.supervise()
	return h, nil
}

// startLocal starts one child process and waits until it serves; onLaunch,
// if not nil, is told of the process as soon as it runs (before it
// serves), so that a restart's start can be killed.
func startLocal(ctx context.Context, req request, stopping *chanFlag, onLaunch func(instance)) (*process, error) {
	b, name := req.bus, req.name
	// Whether another process answers for name is a round trip on the bus:
	// asked while the child is exec'd, answered before its bootstrap, which
	// it needs to serve.
	dup := make(chan bool, 1)
	go func() { dup <- served(ctx, b.Conn(), name) }()
	creds, err := b.Grant(name)
	if err != nil {
		<-dup
		if errors.Is(err, bus.ErrGranted) {
			err = fmt.Errorf("%w: %s is already spawned from this process", ErrDuplicateName, name)
		}
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	if req.opts.pool != nil {
		defer req.opts.pool.refill()
	}
	p, err := launch(req, creds, stopping, func() error {
		if <-dup {
			return fmt.Errorf("%w: %s already answers on this bus", ErrDuplicateName, name)
		}
		return nil
	})
	if err != nil {
		b.Revoke(name)
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	if onLaunch != nil {
		onLaunch(p)
	}
	if err := p.awaitReady(ctx, req.opts.startTimeout); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	return p, nil
}

// served reports whether some process already answers for name.
func served(ctx context.Context, nc *nats.Conn, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err := bus.Request(ctx, nc, &nats.Msg{Subject: bus.ControlSubject(micro.PingVerb, name, "")}, 0)
	return err == nil
}

// process is the parent's machinery for one child; it is an instance.
type process struct {
	name      string
	pid       int
	stopping  *chanFlag // the handle's: set when Terminate asked
	exited    chan struct{}
	err       error         // set before exited is closed
	flushed   chan struct{} // closed when the child reports its logs flushed
	statusEOF chan struct{} // closed when the status pipe reaches EOF
	observed  chan struct{} // closed when the exit has been observed (Wait returned)
	id        string        // the $SRV id, once ready
	started   bool          // ready: a started event went out (set before finish runs)
	grace     time.Duration
	termAt    atomic.Int64 // unix nanoseconds of the first Term, 0 before
	// stopCalls: Term has the embedded server stop routing calls to the
	// child (bus.Bus.StopCalls); false on another bus.
	stopCalls bool

	b      *bus.Bus
	cmd    *exec.Cmd
	relay  *logfwd.Relay
	logger *slog.Logger
	boot   *os.File // write end of fd 3: bootstrap, then the lifeline
	status *os.File // read end of fd 4
	conn   *os.File // the parent's copy of the child's bus connection, or nil (childProc.conn)
	// ready, if not nil, gets the ready status the child publishes on the
	// bus (bootstrap.Ready), which comes before the status pipe's.
	ready    chan status
	readySub *nats.Subscription
	// unlist, once ready, takes it out of localsvc (at its exit).
	unlist func()
	out    sync.WaitGroup
	// outPipes are the inodes of the stdout and stderr pipes (0: unknown).
	outPipes [2]uint64
	tree     string // the token of envTree its descendants carry
	tail     *tailBuffer
	// releaseOnce: the bus is released once, when the marker came (while
	// the child exits) or after the reap.
	releaseOnce sync.Once
}

// launch starts the child; check, if it fails, stops it before its
// bootstrap.
func launch(req request, creds bus.Credentials, stopping *chanFlag, check func() error) (*process, error) {
	pool := req.opts.pool
	for {
		c, pooled, err := startChild(pool, req.name, req.opts.env, func() (*os.File, []byte) { return predialFor(req.bus, creds, req.name) })
		if err == nil {
			if err = check(); err != nil {
				c.discard()
			}
		}
		if err != nil {
			return nil, err
		}
		check = func() error { return nil } // asked once
		p, err := begin(req, creds, stopping, c, pooled)
		if errors.Is(err, errIdleChildGone) {
			// An idle child of the pool that died after it was taken
			// never read its bootstrap: a fresh one does the same.
			req.opts.logger.Debug("pool child gone before its bootstrap: exec'ing one", "service", req.name, "err", err)
			pool = nil
			continue
		}
		return p, err
	}
}

// errIdleChildGone is begin's error for a child from the pool that could
// not be given its bootstrap (it died after it was taken).
var errIdleChildGone = errors.New("idle child gone")

// testHookBeforeBootstrap, if set (by tests), runs before a child is sent
// its bootstrap.
var testHookBeforeBootstrap func(pid int)

// begin sets up the parent's side of child c and sends its bootstrap.
func begin(req request, creds bus.Credentials, stopping *chanFlag, c *childProc, pooled bool) (*process, error) {
	b, name, o := req.bus, req.name, req.opts
	var err error
	cmd, bootW, statusR, outR, errR := c.cmd, c.boot, c.status, c.stdout, c.stderr
	pid := cmd.Process.Pid
	logger := o.logger.With(slog.String("service", name), slog.Int("pid", pid))
	p := &process{
		name: name, pid: pid, stopping: stopping, grace: o.grace,
		exited: make(chan struct{}), flushed: make(chan struct{}), statusEOF: make(chan struct{}),
		observed: make(chan struct{}),
		b:        b, cmd: cmd, logger: logger, boot: bootW, status: statusR, conn: c.conn, tail: &tailBuffer{max: 2048},
	}
	p.stopCalls = creds.LogInbox != "" && b.Embedded()
	// Subscribe to the child's logs before it can publish: it waits for
	// the bootstrap, which is written below.
	p.relay, err = logfwd.NewRelayWith(b.LogConn(), bus.LogSubject(name), o.logger.Handler(),
		logfwd.RelayOptions{Inbox: creds.LogInbox}, slog.String("service", name), slog.Int("pid", pid))
	if err != nil {
		c.discard()
		return nil, err
	}
	p.outPipes = [2]uint64{pipeInode(outR), pipeInode(errR)}
	p.tree = c.tree
	p.out.Add(2)
	go p.readLines(outR, slog.LevelInfo, "stdout", nil)
	go p.readLines(errR, slog.LevelWarn, "stderr", p.tail)
	bs := bootstrap{Key: req.entry.key, Name: name, Args: req.args, Bus: creds, Grace: o.grace, Level: *o.level}
	if c.conn != nil {
		bs.ConnFD, bs.ConnHello = connFD, string(c.hello)
	}
	if b.Embedded() {
		// The child's connection is to the server this process's is to
		// (this process runs it): what the child publishes after its
		// subscriptions comes here after the server has them.
		bs.Ready = p.watchReady()
	}
	boot, _ := json.Marshal(bs)
	if testHookBeforeBootstrap != nil {
		testHookBeforeBootstrap(pid)
	}
	if _, err := bootW.Write(append(boot, '\n')); err != nil {
		if pooled {
			p.abandon(c)
			return nil, fmt.Errorf("%w: write bootstrap: %v", errIdleChildGone, err)
		}
		// The child died before reading: awaitReady reports it.
		p.logger.Debug("write bootstrap", "err", err)
	}
	return p, nil
}

// abandon undoes begin for a child that never got its bootstrap.
func (p *process) abandon(c *childProc) {
	if p.readySub != nil {
		_ = p.readySub.Unsubscribe()
	}
	c.discard() // its output readers see the pipes close
	p.out.Wait()
	_ = p.relay.Close()
}

// PID implements instance.
func (p *process) PID() int { return p.pid }

// Exited implements instance.
func (p *process) Exited() <-chan struct{} { return p.exited }

// Observed implements instance.
func (p *process) Observed() <-chan struct{} { return p.observed }

// ExitErr implements instance.
func (p *process) ExitErr() error { return p.err }

// Flushed reports whether the child said it sent its end-of-log marker.
func (p *process) Flushed() bool { return isClosed(p.flushed) }

// Term implements instance: SIGTERM to the child, after a byte on its
// lifeline that asks the same. The child's poller reads the byte at once;
// a signal reaches the child's goroutines through two of its threads
// (100-150 µs here). The stop budget starts. On the embedded bus the
// server also stops routing calls to the child: the parent answers them
// 503 while the child stops.
func (p *process) Term() {
	p.termAt.CompareAndSwap(0, time.Now().UnixNano())
	_, _ = p.boot.Write(stopRequest) // fails once the child is gone
	if p.stopCalls {
		p.b.StopCalls(p.name)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.Kill()
	}
}

// stopRequest is what Term writes on the lifeline.
var stopRequest = []byte{'\n'}

// Kill implements instance: SIGKILL to the child's descendants outside
// its process group (while it lives: it is their reaper, see
// becomeSubreaper), then to the group.
func (p *process) Kill() {
	if !isClosed(p.observed) {
		killDescendants(p.pid, treeKillWait)
	}
	killGroup(p.pid)
}

// awaitReady waits for the child's first status line, then keeps reading
// the status pipe and watches the child in the background.
func (p *process) awaitReady(ctx context.Context, timeout time.Duration) error {
	first := make(chan status, 1)
	go p.readStatus(first)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if p.readySub != nil {
		defer p.readySub.Unsubscribe()
	}
	started := func(id, via string) error {
		p.logger.Debug("child ready", "id", id, "via", via)
		p.id, p.started = id, true
		p.unlist = localsvc.Add(p.b.Conn(), p.name)
		publishLife(p.b.Conn(), p.logger, bus.LifeEvent{Event: bus.LifeStarted, Name: p.name, ID: p.id, PID: p.pid})
		go p.finish()
		return nil
	}
	var why string
	childSaid := false
	select {
	case st := <-p.ready: // a nil channel (no bus ready) never
		return started(st.ID, "bus")
	case st, ok := <-first:
		switch {
		case ok && st.Ready:
			return started(st.ID, "status pipe")
		case ok && st.Error != "":
			why, childSaid = st.Error, true
		default:
			why = "exited before it was ready"
			childSaid = true
		}
	case <-timer.C:
		why = fmt.Sprintf("not serving after %v", timeout)
	case <-ctx.Done():
		why = context.Cause(ctx).Error()
	}
	if !childSaid {
		// Asked to stop as Terminate asks (Run's ctx ended — Ctrl-C in
		// bgkit up — or the start took too long): Initialize's ctx ends,
		// what it opened is closed and its logs arrive. It was SIGKILLed
		// at once, in the middle of Initialize.
		p.Term()
	}
	// Exiting (it reported why it cannot start, or was asked to): let it,
	// within the grace period, so that its exit status is its own.
	t := time.AfterFunc(p.grace, p.Kill)
	defer t.Stop()
	p.finish()
	msg := why
	if ee, ok := p.err.(*ExitError); ok {
		if ee.Signal != "" {
			msg += "; killed by " + ee.Signal
		} else {
			msg += fmt.Sprintf("; exit status %d", ee.Code)
		}
		if ee.StderrTail != "" {
			msg += "; stderr: " + ee.StderrTail
		}
	}
	return fmt.Errorf("%w: %s", ErrStart, msg)
}

// watchReady subscribes to a fresh inbox for the child's ready status on
// the bus and returns it ("" if it cannot: the status pipe still says).
func (p *process) watchReady() string {
	nc := p.b.Conn()
	// Not nc.NewInbox(): a child that saw one of this process's NUIDs (a
	// reply subject) could work out the next and publish a ready status
	// for a child that never served (TestReadyInboxUnforgeable). Only the
	// bootstrap carries it.
	inbox := bus.NewInbox(nc)
	ready := make(chan status, 1)
	sub, err := nc.Subscribe(inbox, func(m *nats.Msg) {
		var st status
		if json.Unmarshal(m.Data, &st) == nil && st.Ready {
			select {
			case ready <- st:
			default: // one is enough
			}
		}
	})
	if err != nil {
		return ""
	}
	p.ready, p.readySub = ready, sub
	return inbox
}

// readStatus reads the child's status lines: the first (ready or error)
// goes to first; a later {"flushed":true} says its logs are all sent.
func (p *process) readStatus(first chan<- status) {
	defer close(p.statusEOF)
	// A status line is short; a longer one (only a hostile child writes
	// one) is cut, so fails to decode, and costs no more memory.
	r := &lineReader{br: bufio.NewReader(p.status), max: 4 << 10}
	n := 0
	for {
		line, _, err := r.next()
		if err != nil {
			if n == 0 {
				close(first)
			}
			return
		}
		var st status
		if json.Unmarshal(line, &st) != nil {
			continue
		}
		if n == 0 {
			first <- st
		}
		n++
		if st.Flushed && !isClosed(p.flushed) { // said once; a second time is not a crash
			close(p.flushed)
		}
	}
}

// finish reaps the child, kills what is left of its process group, waits
// for its logs, releases everything and closes exited.
func (p *process) finish() {
	outDone := make(chan struct{})
	go func() { p.out.Wait(); close(outDone) }()
	go p.releaseAtEOF()
	waitErr := p.cmd.Wait()
	exitAt := time.Now()
	if p.unlist != nil {
		p.unlist()
	}
	// Grandchildren left behind die with the group.
	killGroup(p.pid)
	close(p.observed)
	exitErr := p.exitError(waitErr)
	if p.started {
		// At once: controllers fail the calls in flight on this event.
		publishLife(p.b.Conn(), p.logger, exitedEvent(p.name, p.id, p.pid, exitErr))
	}
	p.boot.Close()
	var termAt time.Time
	if t := p.termAt.Load(); t != 0 {
		termAt = time.Unix(0, t)
	}
	budget, cancel := newStopBudget(p.logger, p.grace, termAt, exitAt)
	defer cancel()
	// The child and its group are gone; the status pipe closes with them.
	budget.await("the status pipe to close", "a process outside the child's group holds it", p.statusEOF)
	p.status.Close()
	// Every record published before the child's end-of-log marker has been
	// relayed once the marker arrives. A child that said it flushed its logs
	// sent one; a child that crashed did not.
	budget.drainLogs(p.relay, p.Flushed())
	p.releaseBus()
	if !closedWithin(outDone, holderWait) {
		// What still holds the output left the child's group and outlived
		// it: the child ended by itself and killed no tree.
		for _, pid := range killPipeHolders(p.outPipes[:]...) {
			p.logger.Warn("killed a process the service left running outside its process group: it held the service's output", "holder_pid", pid)
		}
	}
	budget.await("the output pipes to close", "a process that left the child's group holds them", outDone)
	if !p.Flushed() {
		// The child ended by itself, without its orderly exit (which kills
		// its tree): what it left outside its group, holding no pipe of
		// its output, carries its token (TestCrashTakesEscapedDescendants).
		for _, pid := range killMarked(envTree + "=" + p.tree) {
			p.logger.Warn("killed a process the service left running outside its process group", "pid", pid)
		}
	}
	if ee, ok := exitErr.(*ExitError); ok {
		ee.StderrTail = p.tail.String()
	}
	p.err = exitErr
	close(p.exited)
}

// releaseAtEOF releases the child's bus while it exits, once it said its
// logs are flushed and its end-of-log marker has come through: the
// kernel's exit takes a millisecond or more (most of it freeing the
// child's memory), and after the reap finish has only the exit itself to
// report. A child that exits without a marker is released by finish.
func (p *process) releaseAtEOF() {
	select {
	case <-p.flushed:
	case <-p.observed:
		return
	}
	select {
	case <-p.relay.EOF():
		p.releaseBus()
	case <-p.observed:
	}
}

// releaseBus, once the child's records have all been relayed (its marker
// came through, or it never sent one and the crash settle is over),
// closes the parent's copy of the child's connection (the server may see
// it hang up), the relay, and revokes its credentials: a child still
// running then is cut off the bus.
func (p *process) releaseBus() {
	p.releaseOnce.Do(func() {
		if p.conn != nil {
			p.conn.Close()
		}
		_ = p.relay.Close()
		p.b.Revoke(p.name)
	})
}

// treeKillWait bounds killDescendants' walks and its wait for the deaths
// it caused.
const treeKillWait = 200 * time.Millisecond

// holderWait is how long after the reap finish lets the output pipes
// close (the group's processes die with its SIGKILL) before it looks for
// what else holds them.
const holderWait = 50 * time.Millisecond

// closedWithin reports whether ch closes within d.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	if isClosed(ch) {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (p *process) exitError(err error) error {
	if err == nil {
		return nil
	}
	ee := &ExitError{Name: p.name, PID: p.pid, Requested: p.stopping.isSet()}
	code, sig, signaled := waitStatus(err)
	ee.Code = code
	if signaled {
		ee.Signal = unix.SignalName(sig)
		ee.Killed = sig == syscall.SIGKILL && ee.Requested
	}
	return ee
}

// childEnv is the child's environment: ours without the variables that
// find and authenticate to a bus (busEnv: a parent that joined through
// NATS_URL may hold the administrator's password there; the child has its
// own credentials in its bootstrap), the child marker, its tree's token
// (envTree; one this process inherited is dropped), extra entries, and
// (for race-detector builds) no one-second sleep at exit.
func childEnv(tree string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(busEnv, k) && k != envTree {
			env = append(env, kv)
		}
	}
	env = append(env, envChild+"=1", envTree+"="+tree)
	if os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return append(env, extra...)
}

// busEnv are the variables with which bgkit and the nats CLI find a bus
// and authenticate to it.
var busEnv = []string{"NATS_URL", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "NATS_CREDS", "NATS_NKEY"}

// Limits of what a child's stdout and stderr become: a line longer than
// maxLine is cut (its record says how much was), and a panic's trace
// longer than maxTrace loses its end (the panicking goroutine comes
// first). A trace is written at once: a pause of traceIdle ends it, so
// that a line that only looks like a panic ("panic: recovered …") does
// not hold back what the child writes after it.
const (
	maxLine   = 64 << 10
	maxTrace  = 1 << 20
	traceIdle = 250 * time.Millisecond
)

// readLines relays a child's stdout or stderr, a record per line. A Go
// panic or fatal error becomes one ERROR record holding the whole trace.
// It reads to EOF whatever comes, so that the child's writes never block
// or fail.
func (p *process) readLines(f *os.File, level slog.Level, stream string, tail *tailBuffer) {
	defer p.out.Done()
	defer f.Close()
	lr := &lineReader{br: bufio.NewReaderSize(f, 64<<10), max: maxLine}
	var trace []string
	traceBytes, traceCut := 0, 0
	endTrace := func() {
		attrs := []slog.Attr{slog.String("stream", stream), slog.String("trace", strings.Join(trace, "\n"))}
		if traceCut > 0 {
			attrs = append(attrs, slog.Int("trace_lines_cut", traceCut))
		}
		p.emit(slog.LevelError, trace[0], attrs...)
		trace, traceBytes, traceCut = nil, 0, 0
		_ = f.SetReadDeadline(time.Time{})
	}
	for {
		b, cut, err := lr.next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if trace != nil {
				endTrace()
			}
			_ = f.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil {
			break
		}
		line := string(b)
		if tail != nil {
			tail.add(line)
		}
		if trace != nil {
			if traceBytes+len(line) > maxTrace {
				traceCut++
			} else {
				trace, traceBytes = append(trace, line), traceBytes+len(line)+1
			}
			_ = f.SetReadDeadline(time.Now().Add(traceIdle))
			continue
		}
		if stream == "stderr" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
			trace, traceBytes = []string{line}, len(line)+1
			_ = f.SetReadDeadline(time.Now().Add(traceIdle))
			continue
		}
		if r, ok := logfwd.DecodeLine(b); ok && cut == 0 { // a record written while the bus was down
			p.relay.Emit(context.Background(), r)
			continue
		}
		attrs := []slog.Attr{slog.String("stream", stream)}
		if cut > 0 {
			attrs = append(attrs, slog.Int("truncated_bytes", cut))
		}
		p.emit(level, line, attrs...)
	}
	if trace != nil {
		endTrace()
	}
}

// lineReader splits a stream into lines of at most max bytes.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte // the line so far
	cut int    // bytes of it past max, dropped
}

// next returns the next line (without its "\n" or "\r\n"; valid until the
// next call) and how many of its bytes were cut. A read error — a
// deadline — keeps the line so far for the next call; at EOF an
// unterminated last line comes first, then io.EOF.
func (l *lineReader) next() ([]byte, int, error) {
	for {
		frag, err := l.br.ReadSlice('\n')
		end := len(frag) > 0 && frag[len(frag)-1] == '\n'
		if end {
			frag = frag[:len(frag)-1]
		}
		if room := l.max - len(l.buf); room >= len(frag) {
			l.buf = append(l.buf, frag...)
		} else {
			l.buf = append(l.buf, frag[:max(room, 0)]...)
			l.cut += len(frag) - max(room, 0)
		}
		if !end && errors.Is(err, io.EOF) && (len(l.buf) > 0 || l.cut > 0) {
			end = true
		}
		if end {
			line, cut := l.buf, l.cut
			l.buf, l.cut = l.buf[:0], 0
			if cut == 0 {
				line = bytes.TrimSuffix(line, []byte("\r"))
			} else {
				// Not in the middle of a character.
				for i := 0; i < utf8.UTFMax-1 && len(line) > 0; i++ {
					if r, size := utf8.DecodeLastRune(line); r != utf8.RuneError || size != 1 {
						break
					}
					line, cut = line[:len(line)-1], cut+1
				}
			}
			return line, cut, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, 0, err
		}
	}
}

func (p *process) emit(level slog.Level, msg string, attrs ...slog.Attr) {
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	p.relay.Emit(context.Background(), r)
}

// tailBuffer keeps the last max bytes of lines written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []string
	n   int
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, line)
	t.n += len(line) + 1
	for t.n > t.max && len(t.buf) > 1 {
		t.n -= len(t.buf[0]) + 1
		t.buf = t.buf[1:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.buf, "\n")
}
