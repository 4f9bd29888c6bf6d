package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// CounterArgs is the Counter example of DESIGN.md.
type CounterArgs struct {
	Start int `json:"start" validate:"gte=0"`
	Step  int `json:"step"  validate:"required,min=1"`
	// Test hooks.
	FailInit     string `json:"fail_init,omitempty"`
	ShutdownLogs int    `json:"shutdown_logs,omitempty"`
	ShutdownWait int    `json:"shutdown_wait_ms,omitempty"`
	IgnoreTerm   bool   `json:"ignore_term,omitempty"`
}

// CounterService counts.
type CounterService struct {
	args     CounterArgs
	n        atomic.Int64
	stubborn atomic.Bool // IgnoreTerm was called
}

func NewCounterService(args CounterArgs) (*CounterService, error) {
	s := &CounterService{args: args}
	s.n.Store(int64(args.Start))
	return s, nil
}

func (s *CounterService) Initialize(ctx context.Context) error {
	if s.args.FailInit != "" {
		slog.Error("about to fail", "reason", s.args.FailInit)
		return errors.New(s.args.FailInit)
	}
	slog.Info("counter ready", "start", s.args.Start, "step", s.args.Step)
	return nil
}

func (s *CounterService) Shutdown(ctx context.Context) error {
	slog.Info("shutdown started")
	if s.stubborn.Load() {
		select {} // until the parent's SIGKILL
	}
	for i := range s.args.ShutdownLogs {
		slog.Info("bye", "i", i)
	}
	if s.args.ShutdownWait > 0 {
		select {
		case <-time.After(time.Duration(s.args.ShutdownWait) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return nil
}

// Add adds n steps and returns the new value.
func (s *CounterService) Add(ctx context.Context, n int) (int, error) {
	return int(s.n.Add(int64(n * s.args.Step))), nil
}

// Value returns the current value.
func (s *CounterService) Value(ctx context.Context) (int, error) { return int(s.n.Load()), nil }

// Reset sets the value to Start.
func (s *CounterService) Reset(ctx context.Context) error {
	s.n.Store(int64(s.args.Start))
	return nil
}

// Fail returns an error.
func (s *CounterService) Fail(ctx context.Context, msg string) error {
	return fmt.Errorf("failing: %s", msg)
}

// Boom panics.
func (s *CounterService) Boom(ctx context.Context) error { panic("boom") }

// Log logs n records.
func (s *CounterService) Log(ctx context.Context, n int) error {
	for i := range n {
		slog.Info("spam", "i", i)
	}
	return nil
}

// LogBig logs one ERROR record with an attribute of n bytes.
func (s *CounterService) LogBig(ctx context.Context, n int) error {
	slog.Error("dump", "ecu", "BCM", "dump", strings.Repeat("d", n), "frames", 7)
	return nil
}

// Hello logs one record with an attribute.
func (s *CounterService) Hello(ctx context.Context) error {
	slog.Info("hello", "k", "v")
	return nil
}

// CounterController is the typed controller of DESIGN.md.
type CounterController struct{ *controller.Controller }

func (c CounterController) Add(ctx context.Context, n int) (int, error) {
	var v int
	return v, c.Call(ctx, "add", n, &v)
}

func (c CounterController) Value(ctx context.Context) (int, error) {
	var v int
	return v, c.Call(ctx, "value", nil, &v)
}

func (c CounterController) Reset(ctx context.Context) error { return c.Call(ctx, "reset", nil, nil) }

// Exit ends the process with code, as a crash would.
func (s *CounterService) Exit(ctx context.Context, code int) error {
	fmt.Fprintf(os.Stderr, "exiting with %d\n", code)
	os.Exit(code)
	return nil
}

// Stderr writes a line to stderr.
func (s *CounterService) Stderr(ctx context.Context, line string) error {
	_, err := fmt.Fprintln(os.Stderr, line)
	return err
}

// StderrLong writes a line of n 'x' to stderr.
func (s *CounterService) StderrLong(ctx context.Context, n int) error {
	_, err := fmt.Fprintln(os.Stderr, strings.Repeat("x", n))
	return err
}

// Crash panics in a goroutine of its own, which kills the process.
func (s *CounterService) Crash(ctx context.Context) error {
	go func() { panic("crash test") }()
	select {}
}

// IgnoreTerm makes the service refuse to stop: the process ignores
// SIGTERM, and Shutdown, which the parent's stop request (on the
// lifeline) still starts, never returns.
func (s *CounterService) IgnoreTerm(ctx context.Context) error {
	signal.Ignore(syscall.SIGTERM)
	s.stubborn.Store(true)
	return nil
}

// Grandchild starts a long sleep in the service's process group and
// returns its pid.
func (s *CounterService) Grandchild(ctx context.Context) (int, error) {
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

// Sleep waits ms milliseconds or until the call's deadline.
func (s *CounterService) Sleep(ctx context.Context, ms int) error {
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hang waits ms milliseconds, ignoring its ctx.
func (s *CounterService) Hang(ctx context.Context, ms int) error {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return nil
}

// Big returns a string of n bytes (an oversized reply when n is large).
func (s *CounterService) Big(ctx context.Context, n int) (string, error) {
	return strings.Repeat("x", n), nil
}

// Publish publishes on subject with the child's own connection and says
// whether the server refused it (a permission violation).
func (s *CounterService) Publish(ctx context.Context, subject string) error {
	b, _ := service.BusFrom(ctx)
	nc := b.Conn()
	if err := nc.Publish(subject, []byte(`{"msg":"from a child"}`)); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	// The server answers a violation with -ERR before the PONG of the flush.
	if err := nc.LastError(); err != nil && strings.Contains(err.Error(), subject) {
		return err
	}
	return nil
}
