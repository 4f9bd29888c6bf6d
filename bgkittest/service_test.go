package bgkittest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// ProbeArgs configure a ProbeService, a service whose failures tests ask for.
type ProbeArgs struct {
	FailInit     string `json:"fail_init,omitempty"`
	FailShutdown string `json:"fail_shutdown,omitempty"`
}

// ProbeService serves PROBE_SERVICE.
type ProbeService struct{ args ProbeArgs }

func NewProbeService(args ProbeArgs) (*ProbeService, error) { return &ProbeService{args: args}, nil }

func (s *ProbeService) Initialize(ctx context.Context) error {
	if s.args.FailInit != "" {
		slog.Error("cannot start", "reason", s.args.FailInit)
		return errors.New(s.args.FailInit)
	}
	slog.Info("probe ready")
	return nil
}

func (s *ProbeService) Shutdown(ctx context.Context) error {
	slog.Info("probe stopping")
	if s.args.FailShutdown != "" {
		return errors.New(s.args.FailShutdown)
	}
	return nil
}

// Say logs msg with an attribute and a group.
func (s *ProbeService) Say(ctx context.Context, msg string) error {
	slog.Info(msg, "k", "v", slog.Group("req", "n", 1))
	return nil
}

// Crash logs, writes a line to stderr and exits with code, without
// answering: call it with crash.
func (s *ProbeService) Crash(ctx context.Context, code int) error {
	slog.Error("crashing on purpose", "code", code)
	if b, ok := service.BusFrom(ctx); ok {
		_ = b.Conn().Flush() // the record is out before the process ends
	}
	fmt.Fprintln(os.Stderr, "last words on stderr")
	os.Exit(code)
	return nil
}

// crash makes the probe h exit with code and waits until it has and its
// last record has arrived (a crashed child sends no end-of-log marker).
func crash(t testing.TB, b *bus.Bus, h *bgkittest.Child, code int) {
	t.Helper()
	if err := b.Conn().Publish(bus.ServiceSubject(h.ServiceName(), "crash"), fmt.Appendf(nil, "%d", code)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit after crash", h.ServiceName())
	}
	h.Logs().WaitFor(t, bgkittest.All(bgkittest.Level(slog.LevelError),
		bgkittest.Message("crashing on purpose"), bgkittest.Attr("code", code)), 10*time.Second)
}
