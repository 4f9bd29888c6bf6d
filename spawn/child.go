package spawn

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
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
	os.Exit(childMain())
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

func childMain() int {
	os.Unsetenv(envChild) // grandchildren are not bgkit children
	bootF := os.NewFile(3, "bgkit-bootstrap")
	statusF := os.NewFile(4, "bgkit-status")
	if bootF == nil || statusF == nil {
		fmt.Fprintln(os.Stderr, "bgkit child: missing bootstrap pipes (fd 3 and 4); was it started by spawn.Run?")
		return exitStart
	}
	closeOnExec(3)
	closeOnExec(4)
	st := &statusWriter{f: statusF}

	br := bufio.NewReader(bootF)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return st.fail("read bootstrap: %v", err)
	}
	var boot bootstrap
	if err := json.Unmarshal(line, &boot); err != nil {
		return st.fail("decode bootstrap: %v", err)
	}
	e, ok := lookupKey(boot.Key)
	if !ok {
		return st.fail("%s is not registered in this binary: call spawn.Register before spawn.Main", boot.Key)
	}

	// ctx ends on SIGTERM/SIGINT, when the parent goes away (the lifeline
	// pipe reaches EOF) or when the bus connection closes.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var parentGone atomic.Bool
	lost := func(why string) {
		if parentGone.CompareAndSwap(false, true) {
			slog.Warn("stopping: " + why)
			stop()
			// No parent to wait for us: do not outlive it by more than a moment.
			time.AfterFunc(min(boot.Grace, parentGoneBudget), killOwnGroup)
		}
	}
	// With the parent gone, writes to stderr fail with EPIPE instead of
	// killing the process before it has cleaned up.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case <-sigs:
			stop()
		case <-ctx.Done():
		}
	}()
	go func() {
		_, _ = io.Copy(io.Discard, br)
		lost("parent exited")
	}()

	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	b, err := bus.Dial(dialCtx, boot.Bus, bus.WithClientName("bgkit "+boot.Name),
		bus.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))))
	cancel()
	if err != nil {
		return st.fail("%v", err)
	}
	defer b.Close()
	nc := b.Conn()
	nc.SetClosedHandler(func(*nats.Conn) { lost("bus connection closed") })

	h := logfwd.NewHandler(nc, bus.LogSubject(boot.Name), &slog.HandlerOptions{Level: boot.Level})
	logger := slog.New(h)
	slog.SetDefault(logger)
	// After a failover to another server of a cluster, send the recent
	// records again: those in flight to the dead server are lost otherwise.
	// The parent's relay drops what it already has.
	nc.SetReconnectHandler(func(c *nats.Conn) {
		n, err := h.Resend()
		slog.Info("bus reconnected", "url", c.ConnectedUrlRedacted(), "resent_records", n, "err", err)
	})
	defer func() {
		nc.SetClosedHandler(nil)
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if h.Close(fctx) == nil {
			// The parent waits for the end-of-log marker only when told.
			st.write(status{Flushed: true})
		}
		cancel()
		st.close()
	}()

	svc, err := e.construct(boot.Args)
	if err != nil {
		return st.fail("%v", err)
	}
	ready := false
	err = service.Run(ctx, b, svc,
		service.WithName(boot.Name),
		service.WithLogger(logger),
		service.WithShutdownTimeout(boot.Grace),
		service.WithOnReady(func(info service.Info) {
			ready = true
			st.write(status{Ready: true, ID: info.ID})
		}),
	)
	switch {
	case err != nil && !ready:
		return st.fail("%v", err)
	case err != nil:
		slog.Error("shutdown failed", "err", err)
		return exitShutdown
	case parentGone.Load():
		// Nobody is left to reap what this service started: take the
		// whole process group down, this process last.
		fctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		h.Close(fctx)
		cancel()
		killOwnGroup()
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
