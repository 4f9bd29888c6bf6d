package spawn

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
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
	return start(ctx, b, e, "", name, data, o)
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
	return start(ctx, b, e, kind, name, args, o)
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
}

// status is what the child writes to fd 4.
type status struct {
	Ready bool   `json:"ready,omitempty"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error,omitempty"`
}

const envChild = "BGKIT_CHILD"

func start(ctx context.Context, b *bus.Bus, e *entry, kind, name string, args []byte, o options) (*Handle, error) {
	if !mainCalled.Load() {
		return nil, fmt.Errorf("spawn %s: %w", name, ErrNoMain)
	}
	if err := bus.ValidateName(name); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	if served(ctx, b.Conn(), name) {
		return nil, fmt.Errorf("spawn %s: %w: %s already answers on this bus", name, ErrDuplicateName, name)
	}
	creds, err := b.Grant(name)
	if err != nil {
		if errors.Is(err, bus.ErrGranted) {
			err = fmt.Errorf("%w: %s is already spawned from this process", ErrDuplicateName, name)
		}
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	p, err := launch(b, e, name, args, creds, o)
	if err != nil {
		b.Revoke(name)
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	p.h.kind = kind
	if err := p.awaitReady(ctx, o.startTimeout); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	return p.h, nil
}

// served reports whether some process already answers for name.
func served(ctx context.Context, nc *nats.Conn, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err := nc.RequestWithContext(ctx, "$SRV.PING."+name, nil)
	return err == nil
}

// process is the parent's machinery for one child.
type process struct {
	h      *Handle
	b      *bus.Bus
	cmd    *exec.Cmd
	relay  *logfwd.Relay
	logger *slog.Logger
	boot   *os.File // write end of fd 3: bootstrap, then the lifeline
	status *os.File // read end of fd 4
	out    sync.WaitGroup
	tail   *tailBuffer
}

func launch(b *bus.Bus, e *entry, name string, args []byte, creds bus.Credentials, o options) (*process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find executable: %w", err)
	}
	bootR, bootW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		bootR.Close()
		bootW.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		bootR.Close()
		bootW.Close()
		statusR.Close()
		statusW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		bootR.Close()
		bootW.Close()
		statusR.Close()
		statusW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{os.Args[0], "bgkit-child", name},
		Env:         append(append(os.Environ(), envChild+"=1"), o.env...),
		Stdin:       nil,
		Stdout:      outW,
		Stderr:      errW,
		ExtraFiles:  []*os.File{bootR, statusW},
		SysProcAttr: sysProcAttr(),
	}
	err = cmd.Start()
	bootR.Close()
	statusW.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		bootW.Close()
		statusR.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("exec %s: %w", exe, err)
	}
	pid := cmd.Process.Pid
	logger := o.logger.With(slog.String("service", name), slog.Int("pid", pid))
	p := &process{
		b: b, cmd: cmd, logger: logger, boot: bootW, status: statusR, tail: &tailBuffer{max: 2048},
		h: &Handle{
			name: name, pid: pid, proc: cmd.Process, grace: o.grace,
			done: make(chan struct{}), stopping: newFlag(),
		},
	}
	// Subscribe to the child's logs before it can publish: it waits for
	// the bootstrap, which is written below.
	p.relay, err = logfwd.NewRelay(b.Conn(), bus.LogSubject(name), o.logger.Handler(),
		slog.String("service", name), slog.Int("pid", pid))
	if err != nil {
		killGroup(pid)
		_ = cmd.Wait()
		bootW.Close()
		statusR.Close()
		outR.Close()
		errR.Close()
		return nil, err
	}
	p.out.Add(2)
	go p.readLines(outR, slog.LevelInfo, "stdout", nil)
	go p.readLines(errR, slog.LevelWarn, "stderr", p.tail)
	boot, _ := json.Marshal(bootstrap{Key: e.key, Name: name, Args: args, Bus: creds, Grace: o.grace, Level: *o.level})
	if _, err := bootW.Write(append(boot, '\n')); err != nil {
		// The child died before reading: awaitReady reports it.
		p.logger.Debug("write bootstrap", "err", err)
	}
	return p, nil
}

// awaitReady waits for the child's status line, then starts watching it.
func (p *process) awaitReady(ctx context.Context, timeout time.Duration) error {
	type result struct {
		st  status
		err error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(p.status).ReadBytes('\n')
		var st status
		if err == nil {
			err = json.Unmarshal(line, &st)
		}
		ch <- result{st, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var why string
	select {
	case r := <-ch:
		ch = nil
		switch {
		case r.err == nil && r.st.Ready:
			go p.watch()
			return nil
		case r.err == nil:
			why = r.st.Error
		default:
			why = "exited before it was ready"
		}
	case <-timer.C:
		why = fmt.Sprintf("not serving after %v", timeout)
	case <-ctx.Done():
		why = ctx.Err().Error()
	}
	if why == "" || ch != nil {
		killGroup(p.h.pid)
	} else {
		// The child reported why it cannot start and is exiting: let it,
		// so its exit status is its own.
		t := time.AfterFunc(time.Second, func() { killGroup(p.h.pid) })
		defer t.Stop()
	}
	p.finish() // closes the status pipe, so the reader above returns
	if ch != nil {
		<-ch
	}
	ee, _ := p.h.err.(*ExitError)
	msg := why
	if ee != nil {
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

// watch waits for the child to exit and reports it.
func (p *process) watch() {
	p.finish()
	if p.h.err != nil && !p.h.stopping.isSet() {
		p.logger.Error("service exited unexpectedly", "err", p.h.err)
	} else if p.h.err != nil {
		p.logger.Warn("service stopped", "err", p.h.err)
	}
}

// finish reaps the child, kills what is left of its process group, waits
// for its logs, releases everything and closes Done.
func (p *process) finish() {
	waitErr := p.cmd.Wait()
	// Grandchildren left behind die with the group.
	killGroup(p.h.pid)
	p.boot.Close()
	p.status.Close()
	// Every record published before the child's end-of-log marker has been
	// relayed once the marker arrives. A child that crashed sends none:
	// give records in flight a moment.
	wait := 100 * time.Millisecond
	if waitErr == nil {
		wait = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_ = p.relay.WaitEOF(ctx)
	cancel()
	outDone := make(chan struct{})
	go func() { p.out.Wait(); close(outDone) }()
	select {
	case <-outDone:
	case <-time.After(2 * time.Second): // a grandchild that left the group holds the pipe
	}
	_ = p.relay.Close()
	p.b.Revoke(p.h.name)
	p.h.err = exitError(p.h, waitErr, p.tail.String())
	close(p.h.done)
}

func exitError(h *Handle, err error, tail string) error {
	if err == nil {
		return nil
	}
	ee := &ExitError{Name: h.name, PID: h.pid, Code: -1, StderrTail: tail}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ee.Signal = ws.Signal().String()
			ee.Killed = ws.Signal() == syscall.SIGKILL && h.stopping.isSet()
		} else {
			ee.Code = xe.ExitCode()
		}
	}
	return ee
}

// readLines relays a child's stdout or stderr, a record per line. A Go
// panic or fatal error becomes one ERROR record holding the whole trace.
func (p *process) readLines(r io.ReadCloser, level slog.Level, stream string, tail *tailBuffer) {
	defer p.out.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var trace []string
	for sc.Scan() {
		line := sc.Text()
		if tail != nil {
			tail.add(line)
		}
		if trace != nil {
			trace = append(trace, line)
			continue
		}
		if stream == "stderr" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
			trace = []string{line}
			continue
		}
		p.emit(level, line, slog.String("stream", stream))
	}
	if trace != nil {
		p.emit(slog.LevelError, trace[0], slog.String("stream", stream), slog.String("trace", strings.Join(trace, "\n")))
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
