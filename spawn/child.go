package spawn

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
	"github.com/bgkit/bgkit/service"
)

var mainCalled atomic.Bool

// parentGoneBudget is how long a child whose parent died may take to shut
// down before it kills its process group.
const parentGoneBudget = 300 * time.Millisecond

// Main must be called first in main (or TestMain), after the services are
// registered. In a parent it returns at once. In a child spawned by Run it
// serves the service and exits the process; it never returns.
func Main() {
	mainCalled.Store(true)
	if os.Getenv(envChild) == "" {
		return
	}
	c := &child{}
	c.exit(c.run())
}

// IsChild reports whether this process is a bgkit child.
func IsChild() bool { return os.Getenv(envChild) != "" }

// Exit codes of a child.
const (
	exitOK        = 0
	exitShutdown  = 1 // Shutdown returned an error
	exitStart     = 2 // bad bootstrap, arguments, constructor or Initialize
	exitParentEnd = 3 // the parent or the bus went away
)

// Descriptors the parent hands the child.
const (
	lifelineFD = 3 // the bootstrap, then the lifeline: EOF when the parent is gone
	statusFD   = 4 // ready, start errors, flushed
)

// child is a bgkit child process, from its bootstrap to its exit.
type child struct {
	boot     bootstrap
	entry    *entry
	st       *statusWriter
	lifeline *bufio.Reader

	ctx        context.Context // ends on SIGTERM/SIGINT, parent gone or bus closed
	stop       context.CancelFunc
	stopAt     atomic.Int64 // unix nanoseconds when ctx was ended (the budget starts)
	parentGone atomic.Bool
	booted     atomic.Bool // the bootstrap was read
	busDown    bool        // the bus was unreachable or lost when the service returned
	// logsFlushed: the end-of-log marker was flushed (a round trip after
	// everything the child published), or written to the held connection.
	logsFlushed bool
	// held: the bus connection is the parent's, and the parent keeps its
	// copy of the socket open until it has the end-of-log marker.
	held bool

	b    *bus.Bus
	logs *logfwd.Handler
}

// run is the child's life in steps; its result is the exit code.
func (c *child) run() int {
	os.Unsetenv(envChild) // grandchildren are not bgkit children
	c.ctx, c.stop = context.WithCancel(context.Background())
	defer c.stop()
	// The first signal.Notify starts a thread of its own (a few hundred
	// µs here): done while this child waits for its bootstrap (an idle pool
	// child) or dials, and awaited before the service starts; so is the
	// subreaper's set-up.
	signalsWatched := make(chan struct{})
	go func() {
		c.watchSignals()
		becomeSubreaper() // before the service starts anything
		close(signalsWatched)
	}()
	if code, ok := c.readBootstrap(); !ok {
		return code
	}
	c.booted.Store(true)
	c.watchLifeline()
	// While the dial waits on the network, warm what constructing the
	// service will use (its args' decoder and validator: a fresh process
	// builds their caches on first use).
	go func() {
		defer func() { _ = recover() }() // construct reports it
		_ = c.entry.check(c.boot.Args)
	}()
	if err := c.dial(); err != nil {
		c.busDown = true
		return c.st.fail("%v", err)
	}
	defer c.closeBus()
	<-signalsWatched
	c.startLogs()
	defer c.flushLogs()
	code := c.serve()
	c.busDown = !c.b.Conn().IsConnected()
	return code
}

// exit is the one way out of a child. With the parent gone nobody is left
// to reap what the service started: the whole process group goes down,
// this process last, whichever step the child was in.
//
// A dying parent closes its descriptors one by one: the bus (served by it)
// can be gone a moment before its end of the lifeline. A child that lost
// its bus therefore waits for the lifeline's EOF, a moment at most, before
// it decides the parent is alive (and will reap its group).
func (c *child) exit(code int) {
	gone := c.parentGone.Load() || lifelineClosed(lifelineFD, 0)
	if !gone && c.busDown {
		gone = lifelineClosed(lifelineFD, parentGoneBudget)
	}
	if gone {
		killOwnGroup()
	} else if hasChildren() {
		// What the service left running dies with it, also outside its
		// group (the parent kills the group after the reap), waited for
		// only within what is left of the stop budget: a descendant slow
		// to die must not get this child killed.
		killDescendants(os.Getpid(), c.exitBudget())
	}
	os.Exit(code)
}

// exitBudget is how long exit may still take before the parent's grace
// period, counted from the stop, ends (less the exit's own reserve);
// treeKillWait if the child was not asked to stop.
func (c *child) exitBudget() time.Duration {
	at := c.stopAt.Load()
	if at == 0 || c.boot.Grace <= 0 {
		return treeKillWait
	}
	return max(time.Until(time.Unix(0, at).Add(c.boot.Grace-exitReserve(c.boot.Grace))), 0)
}

// readBootstrap reads what the parent wrote on fd 3 and finds the service.
func (c *child) readBootstrap() (int, bool) {
	// Read through the runtime's poller, not by a thread blocked in read:
	// such a thread, woken by the parent's stop request, would go back to
	// its read holding the P that the stopping service was queued on.
	setNonblock(lifelineFD)
	bootF := os.NewFile(lifelineFD, "bgkit-bootstrap")
	statusF := os.NewFile(statusFD, "bgkit-status")
	if bootF == nil || statusF == nil {
		fmt.Fprintln(os.Stderr, "bgkit child: missing bootstrap pipes (fd 3 and 4); was it started by spawn.Run?")
		return exitStart, false
	}
	closeOnExec(lifelineFD)
	closeOnExec(statusFD)
	c.st = &statusWriter{f: statusF}
	c.lifeline = bufio.NewReader(bootF)
	line, err := readBootstrap(c.lifeline, statusF)
	if err != nil {
		return c.st.fail("read bootstrap: %v", err), false
	}
	if err := json.Unmarshal(line, &c.boot); err != nil {
		return c.st.fail("decode bootstrap: %v", err), false
	}
	e, ok := lookupKey(c.boot.Key)
	if !ok {
		return c.st.fail("%s is not registered in this binary: call spawn.Register before spawn.Main", c.boot.Key), false
	}
	c.entry = e
	return 0, true
}

// end ends ctx, once, and starts the shutdown budget.
func (c *child) end() {
	c.stopAt.CompareAndSwap(0, time.Now().UnixNano())
	c.stop()
}

// lost ends ctx because the parent or the bus went away.
func (c *child) lost(why string) {
	if c.parentGone.CompareAndSwap(false, true) {
		slog.Warn("stopping: " + why)
		c.end()
		// No parent to wait for us: do not outlive it by more than a moment,
		// even if the service does not return (Initialize ignores ctx).
		time.AfterFunc(min(c.boot.Grace, parentGoneBudget), killOwnGroup)
	}
}

// watchSignals ends ctx on SIGTERM/SIGINT. Before the bootstrap is read
// there is no service to stop: the signal does what it would by default.
func (c *child) watchSignals() {
	// With the parent gone, writes to stderr fail with EPIPE instead of
	// killing the process before it has cleaned up.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case sig := <-sigs:
			if !c.booted.Load() {
				signal.Reset(sig)
				_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
				return
			}
			c.end()
		case <-c.ctx.Done():
		}
	}()
}

// watchLifeline ends ctx when the parent asks the service to stop (any
// byte after the bootstrap: Terminate's request, like SIGTERM) and when
// the lifeline reaches EOF: the parent is gone.
func (c *child) watchLifeline() {
	go func() {
		buf := make([]byte, 16)
		for {
			n, err := c.lifeline.Read(buf)
			if n > 0 {
				c.end()
			}
			if err != nil {
				break
			}
		}
		c.lost("parent exited")
	}()
}

// premade is a connection to the bus made beforehand, by the parent (fd
// ConnFD) or by this idle pool child, and its address; nil if none. It
// saves the dial the TCP handshake and the wait for INFO.
func (c *child) premade() (string, net.Conn) {
	var conn net.Conn
	if c.boot.ConnFD != 0 {
		conn = inheritedConn(c.boot.ConnFD)
		if conn != nil && c.boot.ConnHello != "" {
			conn = &authedConn{Conn: conn, sent: []byte(c.boot.ConnHello)}
		}
	}
	u, err := url.Parse(c.boot.Bus.URL)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return "", nil
	}
	if conn == nil {
		conn = predialed.take(u.Host)
	}
	return u.Host, conn
}

func (c *child) dial() error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	// The bus's own records (disconnects) go to stderr as JSON, which the
	// parent turns back into records (logfwd.DecodeLine).
	opts := []bus.Option{bus.WithClientName(clientName(c.boot.Name)),
		bus.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil)))}
	var b *bus.Bus
	var err error
	if addr, conn := c.premade(); conn != nil {
		d := &oneShotDialer{addr: addr, conn: conn}
		withConn := append(opts[:len(opts):len(opts)], bus.WithDialer(d))
		if b, err = bus.Dial(ctx, c.boot.Bus, withConn...); err != nil {
			conn.Close() // the server dropped it meanwhile: dial anew
		}
		c.held = b != nil && c.boot.ConnFD != 0 && d.onlyPremade()
	}
	if b == nil {
		if b, err = bus.Dial(ctx, c.boot.Bus, opts...); err != nil {
			return err
		}
	}
	c.b = b
	b.Conn().SetClosedHandler(func(*nats.Conn) { c.lost("bus connection closed") })
	return nil
}

// startLogs makes slog.Default() publish on log.<NAME>.
func (c *child) startLogs() {
	nc := c.b.Conn()
	c.logs = logfwd.NewHandlerInbox(nc, bus.LogSubject(c.boot.Name), c.boot.Bus.LogInbox, &slog.HandlerOptions{Level: c.boot.Level})
	slog.SetDefault(slog.New(c.logs))
	// After a failover to another server of a cluster, send the recent
	// records again: those in flight to the dead server are lost otherwise.
	// The parent's relay drops what it already has.
	nc.SetReconnectHandler(func(conn *nats.Conn) {
		n, err := c.logs.Resend()
		slog.Info("bus reconnected", "url", conn.ConnectedUrlRedacted(), "resent_records", n, "err", err)
	})
}

// flushLogs sends the end-of-log marker and reports it, within what is
// left of the budget.
func (c *child) flushLogs() {
	c.b.Conn().SetClosedHandler(nil)
	var err error
	if c.held {
		// The parent holds the socket open until it has the marker: what
		// is written reaches the server after this process is gone. No
		// round trip; closeBus writes what nats.go buffered.
		err = c.logs.End()
	} else {
		ctx, cancel := context.WithDeadline(context.Background(), c.flushDeadline())
		err = c.logs.Close(ctx)
		cancel()
	}
	if err == nil {
		c.logsFlushed = true
		// The parent waits for the end-of-log marker only when told.
		c.st.writeLine(flushedLine)
	}
	c.st.close()
}

// closeBus hangs up. After the log flush, a round trip that followed the
// last publish, a second one (bus.Close's) would tell nothing new: the
// connection is closed at once (nats.go writes what is still buffered).
func (c *child) closeBus() {
	if c.logsFlushed {
		c.b.Conn().Close()
	}
	_ = c.b.Close()
}

// flushDeadline is when the log flush must be done: with the parent gone,
// in a moment; else before the parent's grace period, counted from the
// stop, ends.
func (c *child) flushDeadline() time.Time {
	if c.parentGone.Load() {
		return time.Now().Add(100 * time.Millisecond)
	}
	at := c.stopAt.Load()
	if at == 0 { // stopped on its own (Initialize failed)
		return time.Now().Add(2 * time.Second)
	}
	return time.Unix(0, at).Add(c.boot.Grace - exitReserve(c.boot.Grace))
}

// exitReserve is the part of the grace period kept for the process to exit
// and the parent to see it, after the logs are flushed.
func exitReserve(grace time.Duration) time.Duration { return min(grace/20, 50*time.Millisecond) }

// flushReserve is the part kept for the log flush, after drain and Shutdown.
func flushReserve(grace time.Duration) time.Duration { return min(grace/5, 500*time.Millisecond) }

// onePAfter is how long after its ready status a child switches to one P
// (see WithEnv). The switch stops the world, 0.1-0.6 ms here (every
// thread must stop, on a VM whose threads take ~70 µs to wake): before
// ready it held up the start, at ready the first calls; a moment later it
// costs one call at most that much, once, and a child stopped sooner never
// pays it.
const onePAfter = 50 * time.Millisecond

// serve constructs the service and runs it until ctx ends.
func (c *child) serve() int {
	svc, err := c.entry.construct(c.boot.Args)
	if err != nil {
		return c.st.fail("%v", err)
	}
	ready := false
	err = service.Run(c.ctx, c.b, svc,
		service.WithName(c.boot.Name),
		service.WithLogger(slog.Default()),
		service.WithShutdownTimeout(c.boot.Grace-flushReserve(c.boot.Grace)-exitReserve(c.boot.Grace)),
		service.WithOnSubscribed(func(info service.Info) {
			if c.boot.Ready != "" {
				st, _ := json.Marshal(status{Ready: true, ID: info.ID})
				_ = c.b.Conn().Publish(c.boot.Ready, st)
			}
		}),
		service.WithOnReady(func(info service.Info) {
			ready = true
			c.st.write(status{Ready: true, ID: info.ID})
			if os.Getenv("GOMAXPROCS") == "" {
				time.AfterFunc(onePAfter, func() {
					if c.ctx.Err() == nil { // not while it stops
						runtime.GOMAXPROCS(1)
					}
				})
			}
		}),
	)
	switch {
	case err != nil && !ready:
		return c.st.fail("%v", err)
	case err != nil:
		slog.Error("shutdown failed", "err", err)
		return exitShutdown
	case c.parentGone.Load():
		return exitParentEnd
	}
	return exitOK
}

// statusWriter reports readiness or a start failure to the parent.
type statusWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (s *statusWriter) write(st status) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return false
	}
	data, _ := json.Marshal(st)
	_, err := s.f.Write(append(data, '\n'))
	return err == nil
}

// flushedLine is status{Flushed: true} as write writes it
// (TestFlushedLine).
var flushedLine = []byte(`{"flushed":true}` + "\n")

// writeLine writes one status line already encoded.
func (s *statusWriter) writeLine(line []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return false
	}
	_, err := s.f.Write(line)
	return err == nil
}

func (s *statusWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

func (s *statusWriter) fail(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	if !s.write(status{Error: msg}) {
		fmt.Fprintln(os.Stderr, "bgkit child:", msg)
	}
	return exitStart
}
