package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/spawn"
)

type reviewInitArgs struct {
	Fail bool `json:"fail"`
}

// reviewInitService fails its Initialize when told to, else waits for its
// ctx (a session that does not open), cleans up and says so.
type reviewInitService struct{ fail bool }

func newReviewInit(a reviewInitArgs) (*reviewInitService, error) {
	return &reviewInitService{a.Fail}, nil
}
func (s *reviewInitService) Initialize(ctx context.Context) error {
	if s.fail {
		return errors.New("no such device")
	}
	slog.Info("opening")
	<-ctx.Done()
	slog.Info("open interrupted: cleaned up")
	return ctx.Err()
}
func (*reviewInitService) Shutdown(context.Context) error { return nil }
func (*reviewInitService) Nop(context.Context) error      { return nil }

func init() { spawn.RegisterKind("review-init", newReviewInit) }

// TestUpLateStartFails: a service that fails to start late in the
// rig fails up with its message, and the ones started before it stop
// cleanly, last first.
func TestUpLateStartFails(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorded()
	args := json.RawMessage(`{"stop_ms":200}`)
	r := &rig{file: "rig.yaml", services: []rigService{
		{kind: "slow-stop", name: "LATE_A", args: args},
		{kind: "slow-stop", name: "LATE_B", args: args},
		{kind: "review-init", name: "LATE_C", args: json.RawMessage(`{"fail":true}`), line: 9},
	}}
	err := serveRig(context.Background(), b, r, slog.New(rec))
	if err == nil || !strings.Contains(err.Error(), "no such device") || !strings.Contains(err.Error(), "rig.yaml:9") {
		t.Errorf("serveRig: %v, want rig.yaml:9 and Initialize's message", err)
	}
	var order []string
	for _, l := range rec.lines() {
		if strings.Contains(l, "did not stop cleanly") {
			t.Errorf("%s", l)
		}
		if name, ok := strings.CutPrefix(l, "shut down cleanly service="); ok {
			order = append(order, name)
		}
	}
	if strings.Join(order, ",") != "LATE_B,LATE_A" {
		t.Errorf("stopped cleanly, in order: %v; want LATE_B,LATE_A", order)
	}
}

// TestUpInterruptedLateStart: Ctrl-C while a late service of the rig
// is in its Initialize: up returns nil, that service's Initialize sees
// its ctx end and its record arrives, and those before it stop cleanly.
func TestUpInterruptedLateStart(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorded()
	r := &rig{services: []rigService{
		{kind: "slow-stop", name: "INTR_A", args: json.RawMessage(`{"stop_ms":100}`)},
		{kind: "review-init", name: "INTR_B", args: json.RawMessage(`{}`)},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serveRig(ctx, b, r, slog.New(rec)) }()
	rec.wait(t, "opening")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveRig: %v", err)
		}
	case <-time.After(12 * time.Second):
		t.Fatal("up did not stop")
	}
	lines := strings.Join(rec.lines(), "\n")
	for _, want := range []string{"open interrupted: cleaned up service=INTR_B", "shut down cleanly service=INTR_A", "rig stopped"} {
		if !strings.Contains(lines, want) {
			t.Errorf("no record %q in:\n%s", want, lines)
		}
	}
}
