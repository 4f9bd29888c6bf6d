package spawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Handle is the parent's view of a running child. It is safe for
// concurrent use.
type Handle struct {
	name  string
	kind  string
	pid   int
	proc  *os.Process
	grace time.Duration

	done chan struct{} // closed when the exit has been observed and logs relayed
	err  error         // set before done is closed

	termOnce sync.Once
	termErr  error
	termDone chan struct{}
	stopping chanFlag // set when Terminate asked the child to stop
}

// chanFlag is a one-way flag that can be waited on.
type chanFlag struct {
	once sync.Once
	ch   chan struct{}
}

func newFlag() chanFlag  { return chanFlag{ch: make(chan struct{})} }
func (f *chanFlag) set() { f.once.Do(func() { close(f.ch) }) }
func (f *chanFlag) isSet() bool {
	select {
	case <-f.ch:
		return true
	default:
		return false
	}
}

// PID is the child's process id (also its process group id).
func (h *Handle) PID() int { return h.pid }

// ServiceName is the name the child serves under.
func (h *Handle) ServiceName() string { return h.name }

// Done is closed when the child has exited and every record it wrote has
// been relayed.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Err is the child's exit error once Done is closed: nil for a clean exit
// (status 0), an *ExitError otherwise. Before Done is closed it is nil.
func (h *Handle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}

// Wait waits for the child to exit (without asking it to) and returns Err.
func (h *Handle) Wait(ctx context.Context) error {
	select {
	case <-h.done:
		return h.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Terminate stops the child: SIGTERM (the child stops taking calls, runs
// Shutdown, drains and flushes its logs), then, if it has not exited after
// the grace period or when ctx ends, SIGKILL to its process group. It
// returns when the child has exited and every record it wrote has reached
// the parent's logger, with Err's value. It is idempotent and safe to call
// from several goroutines.
func (h *Handle) Terminate(ctx context.Context) error {
	h.termOnce.Do(func() {
		h.termDone = make(chan struct{})
		go func() {
			defer close(h.termDone)
			h.termErr = h.terminate()
		}()
	})
	select {
	case <-h.termDone:
		return h.termErr
	case <-ctx.Done():
		h.kill()
		<-h.termDone
		return fmt.Errorf("terminate %s: %w", h.name, ctx.Err())
	}
}

func (h *Handle) terminate() error {
	h.stopping.set()
	if err := h.proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		h.kill()
	}
	timer := time.NewTimer(h.grace)
	defer timer.Stop()
	select {
	case <-h.done:
	case <-timer.C:
		h.kill()
		<-h.done
	}
	return h.err
}

// kill sends SIGKILL to the child's process group.
func (h *Handle) kill() {
	h.stopping.set()
	killGroup(h.pid)
}

// ExitError describes a child that did not exit cleanly.
type ExitError struct {
	Name       string
	PID        int
	Code       int    // exit status, -1 when killed by a signal
	Signal     string // the signal that killed it, if any
	Killed     bool   // Terminate had to SIGKILL it after the grace period
	StderrTail string // the last lines the child wrote to stderr
}

func (e *ExitError) Error() string {
	how := fmt.Sprintf("exit status %d", e.Code)
	if e.Signal != "" {
		how = "killed by " + e.Signal
	}
	if e.Killed {
		how += " after the grace period"
	}
	msg := fmt.Sprintf("%s (pid %d): %s", e.Name, e.PID, how)
	if e.StderrTail != "" {
		msg += "; stderr: " + e.StderrTail
	}
	return msg
}
