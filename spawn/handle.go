package spawn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// Handle is the parent's view of a running service. It is safe for
// concurrent use. With a restart policy ([WithRestart]) it follows each new
// process; Done closes only when the service has stopped for good.
type Handle struct {
	name    string
	kind    string
	nc      *nats.Conn // where lifecycle events go
	grace   time.Duration
	logger  *slog.Logger // with service=<NAME>
	restart RestartPolicy
	// relaunch starts a new instance after a crash; nil without a policy.
	// It tells onLaunch of the instance as soon as it runs.
	relaunch func(ctx context.Context, onLaunch func(instance)) (instance, error)

	mu       sync.Mutex
	cur      instance
	restarts int
	// A restart's start in progress (relaunching), and its instance once
	// it runs (starting): Terminate stops it too.
	relaunching bool
	starting    instance

	done chan struct{} // closed when the exit has been observed and logs relayed
	err  error         // set before done is closed

	stopping *chanFlag // set when Terminate asked the service to stop
	killed   *chanFlag // set when Terminate's ctx ended: no more grace
	termOnce sync.Once
}

// instance is one run of a service: a local child process, or one an agent
// runs on another machine.
type instance interface {
	PID() int
	// Observed is closed as soon as the exit has been observed.
	Observed() <-chan struct{}
	// Exited is closed when the process has exited and its logs are in.
	Exited() <-chan struct{}
	// ExitErr is nil for a clean exit, else an *ExitError (valid after Exited).
	ExitErr() error
	// Term asks the process to stop (SIGTERM).
	Term()
	// Kill stops the process group at once (SIGKILL).
	Kill()
}

func newHandle(nc *nats.Conn, name, kind string, o options) *Handle {
	return &Handle{
		nc: nc, name: name, kind: kind, grace: o.grace, restart: o.restart,
		logger:   o.logger.With(slog.String("service", name)),
		done:     make(chan struct{}),
		stopping: newFlag(),
		killed:   newFlag(),
	}
}

// chanFlag is a one-way flag that can be waited on.
type chanFlag struct {
	once sync.Once
	ch   chan struct{}
}

func newFlag() *chanFlag { return &chanFlag{ch: make(chan struct{})} }
func (f *chanFlag) set() { f.once.Do(func() { close(f.ch) }) }
func (f *chanFlag) isSet() bool {
	select {
	case <-f.ch:
		return true
	default:
		return false
	}
}

func (h *Handle) current() instance {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// PID is the process id of the current process (also its process group
// id). For a service run by an agent it is the pid on the agent's machine.
func (h *Handle) PID() int { return h.current().PID() }

// ServiceName is the name the child serves under.
func (h *Handle) ServiceName() string { return h.name }

// Kind is the registered kind, or "" for a service spawned by constructor.
func (h *Handle) Kind() string { return h.kind }

// Restarts counts the restarts made by the restart policy.
func (h *Handle) Restarts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.restarts
}

// Done is closed when the service has stopped for good and every record it
// wrote has been relayed.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Err is the last exit error once Done is closed: nil for a clean exit
// (status 0), an *ExitError otherwise. Before Done is closed it is nil.
func (h *Handle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}

// Wait waits for the service to stop (without asking it to) and returns Err.
func (h *Handle) Wait(ctx context.Context) error {
	select {
	case <-h.done:
		return h.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Terminate stops the service: SIGTERM (the child stops taking calls, runs
// Shutdown, drains and flushes its logs), then, if it has not exited after
// the grace period or when ctx ends, SIGKILL to its process group. It
// returns when the child has exited and every record it wrote has reached
// the parent's logger, with Err's value. It stops restarts, is idempotent
// and is safe to call from several goroutines.
func (h *Handle) Terminate(ctx context.Context) error {
	// The first call asks the service to stop, then the grace timer runs
	// in the background. A local child gets its SIGTERM from this
	// goroutine, at once; an agent's child in the background (the
	// agent's answer is a round trip, up to its timeout).
	h.termOnce.Do(func() {
		h.stopping.set()
		cur := h.current()
		if p, ok := cur.(*process); ok {
			p.Term()
			go killAfter(cur, h.grace)
			return
		}
		go func() {
			cur.Term()
			killAfter(cur, h.grace)
		}()
	})
	select {
	case <-h.done:
		return h.err
	case <-ctx.Done():
		h.stopping.set()
		h.killed.set()
		h.mu.Lock()
		cur, starting, relaunching := h.cur, h.starting, h.relaunching
		h.mu.Unlock()
		cur.Kill()
		if starting != nil {
			starting.Kill()
		}
		if relaunching {
			// A restart's child is starting: killed with the others (or as
			// it runs: see supervise), its start ends at once.
			<-h.done
		} else {
			// Until the exit is observed: a local child dies at once; an
			// agent reports its child's exit, or is found lost within its
			// lease.
			select {
			case <-h.done:
			case <-cur.Observed():
			}
		}
		return fmt.Errorf("terminate %s: %w", h.name, ctx.Err())
	}
}

// supervise follows the current instance until the service stops for good,
// restarting it as the policy says.
func (h *Handle) supervise() {
	for {
		cur := h.current()
		<-cur.Exited()
		err := cur.ExitErr()
		restarts := h.Restarts()
		if h.stopping.isSet() || h.relaunch == nil || !h.restart.wants(err) || (h.restart.Limit > 0 && restarts >= h.restart.Limit) {
			h.finish(err, restarts)
			return
		}
		wait := h.restart.backoff(restarts + 1)
		h.logger.Warn("service exited; restarting", "err", errText(err), "restart", restarts+1, "in", wait)
		publishLife(h.nc, h.logger, bus.LifeEvent{Event: bus.LifeRestarting, Name: h.name, PID: cur.PID(),
			Error: errText(err), Attempt: restarts + 1, BackoffMS: wait.Milliseconds()})
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-h.stopping.ch:
			timer.Stop()
			h.finish(err, restarts)
			return
		}
		next, lerr, stopped := h.restartOnce()
		if stopped {
			// Terminate came before or during the restart's start, which
			// gave up (the child asked to stop, killed after its grace).
			cut := err // the last exit, when no start began
			if lerr != nil {
				cut = &ExitError{Name: h.name, Code: -1, Requested: true, StderrTail: lerr.Error()}
			}
			h.finish(cut, restarts)
			return
		}
		if lerr != nil {
			h.logger.Error("restart failed", "err", lerr, "restart", restarts+1)
			next = failed{err: &ExitError{Name: h.name, Code: -1, StderrTail: lerr.Error()}}
		} else {
			h.logger.Info("service restarted", "pid", next.PID(), "restart", restarts+1)
		}
		h.mu.Lock()
		h.cur = next
		h.restarts++
		h.relaunching, h.starting = false, nil
		h.mu.Unlock()
		switch {
		case h.killed.isSet(): // Terminate's ctx ended as the start succeeded
			next.Kill()
		case h.stopping.isSet(): // Terminate came as the start succeeded
			next.Term()
			go killAfter(next, h.grace)
		}
	}
}

// restartOnce starts the next instance; its start gives up when Terminate
// is called meanwhile. stopped reports a Terminate before the start, or
// one that cut a start short (lerr is then the start's error).
func (h *Handle) restartOnce() (next instance, lerr error, stopped bool) {
	h.mu.Lock()
	if h.stopping.isSet() {
		h.mu.Unlock()
		return nil, nil, true
	}
	h.relaunching = true // under mu: Terminate sees it, or supervise sees Terminate
	h.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	defer close(watched)
	go func() {
		select {
		case <-h.stopping.ch:
			cancel()
		case <-watched:
		}
	}()
	next, lerr = h.relaunch(ctx, func(p instance) {
		h.mu.Lock()
		h.starting = p
		h.mu.Unlock()
		if h.killed.isSet() {
			p.Kill()
		}
	})
	if lerr != nil && h.stopping.isSet() {
		h.mu.Lock()
		h.relaunching, h.starting = false, nil
		h.mu.Unlock()
		return nil, lerr, true
	}
	return next, lerr, false
}

// killAfter kills in if it has not exited after grace (Terminate's grace
// period). A restart's instance that starts meanwhile gets its own.
func killAfter(in instance, grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-in.Exited():
	case <-t.C:
		in.Kill()
	}
}

// finish reports the final exit and closes Done.
func (h *Handle) finish(err error, attempts int) {
	var ee *ExitError
	switch {
	case err != nil && errors.As(err, &ee) && ee.Requested:
		h.logger.Warn("service stopped", "err", err)
	case err != nil:
		h.logger.Error("service exited unexpectedly", "err", err, "restarts", attempts)
	}
	h.err = err
	close(h.done)
}

func errText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// failed is an instance that could not start.
type failed struct{ err error }

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (f failed) PID() int                  { return 0 }
func (f failed) Observed() <-chan struct{} { return closedCh }
func (f failed) Exited() <-chan struct{}   { return closedCh }
func (f failed) ExitErr() error            { return f.err }
func (f failed) Term()                     {}
func (f failed) Kill()                     {}

// ExitError describes a child that did not exit cleanly.
type ExitError struct {
	Name       string `json:"name"`
	PID        int    `json:"pid"`
	Code       int    `json:"code"`                  // exit status, -1 when killed by a signal
	Signal     string `json:"signal,omitempty"`      // the signal that killed it, if any ("SIGKILL")
	Requested  bool   `json:"requested,omitempty"`   // Terminate had asked it to stop
	Killed     bool   `json:"killed,omitempty"`      // Terminate had to SIGKILL it after the grace period
	StderrTail string `json:"stderr_tail,omitempty"` // the last lines the child wrote to stderr
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s (pid %d): %s", e.Name, e.PID, e.status())
	if e.StderrTail != "" {
		msg += "; stderr: " + e.StderrTail
	}
	return msg
}

// status says how the process ended: "exit status 3", "killed by SIGKILL"
// (after the grace period).
func (e *ExitError) status() string {
	how := fmt.Sprintf("exit status %d", e.Code)
	if e.Signal != "" {
		how = "killed by " + e.Signal
	}
	if e.Killed {
		how += " after the grace period"
	}
	return how
}
