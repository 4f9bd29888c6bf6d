package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/spawn"
)

type slowStopArgs struct {
	StopMS int `json:"stop_ms"`
}

// slowStopService takes stop_ms to shut down, as a service that closes a
// session or flushes a file does, then says so.
type slowStopService struct{ stop time.Duration }

func newSlowStop(a slowStopArgs) (*slowStopService, error) {
	return &slowStopService{stop: time.Duration(a.StopMS) * time.Millisecond}, nil
}
func (*slowStopService) Initialize(context.Context) error { return nil }
func (s *slowStopService) Shutdown(context.Context) error {
	time.Sleep(s.stop) // the work of a slow stop, not a wait for something
	slog.Info("shut down cleanly")
	return nil
}
func (*slowStopService) Nop(context.Context) error { return nil }

func init() { spawn.RegisterKind("slow-stop", newSlowStop) }

// recorded is a slog handler that keeps each record's message and
// service attribute, and tells waiters of new ones.
type recorded struct {
	mu   sync.Mutex
	msgs []string // "message service=NAME"
	more chan struct{}
}

func newRecorded() *recorded { return &recorded{more: make(chan struct{}, 1)} }

func (r *recorded) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorded) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "service" {
			line += " service=" + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, line)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
	return nil
}
func (r *recorded) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "service" {
			return &withService{r, a.Value.String()}
		}
	}
	return r
}
func (r *recorded) WithGroup(string) slog.Handler { return r }

func (r *recorded) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// wait returns once a line holds s.
func (r *recorded) wait(t *testing.T, s string) {
	t.Helper()
	for {
		for _, l := range r.lines() {
			if strings.Contains(l, s) {
				return
			}
		}
		select {
		case <-r.more:
		case <-t.Context().Done():
			t.Fatalf("no record %q; got %q", s, r.lines())
		}
	}
}

type withService struct {
	*recorded
	service string
}

func (w *withService) Handle(ctx context.Context, rec slog.Record) error {
	rec.AddAttrs(slog.String("service", w.service))
	return w.recorded.Handle(ctx, rec)
}

// TestUpGivesEachServiceItsGrace: up stops its services one after the
// other, in reverse order; each gets its own grace, however long those
// before it took. Three services of the default grace (5 s) that take
// 3.6 s each to stop all stop cleanly; with one budget for all (the
// largest grace + 5 s) the last was killed 2.8 s into its stop.
func TestUpGivesEachServiceItsGrace(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 11 s")
	}
	b := bgkittest.Bus(t)
	rec := newRecorded()
	logger := slog.New(rec)
	args := json.RawMessage(`{"stop_ms":3600}`)
	r := &rig{services: []rigService{
		{kind: "slow-stop", name: "SLOW_A", args: args},
		{kind: "slow-stop", name: "SLOW_B", args: args},
		{kind: "slow-stop", name: "SLOW_C", args: args},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRig(ctx, b, r, logger) }()
	rec.wait(t, "rig up")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := rec.lines()
	var order []string
	for _, l := range lines {
		if strings.Contains(l, "did not stop cleanly") {
			t.Errorf("%s", l)
		}
		if name, ok := strings.CutPrefix(l, "shut down cleanly service="); ok {
			order = append(order, name)
		}
	}
	if strings.Join(order, ",") != "SLOW_C,SLOW_B,SLOW_A" {
		t.Errorf("services that shut down cleanly, in order: %v; want SLOW_C,SLOW_B,SLOW_A", order)
	}
}
