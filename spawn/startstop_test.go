package spawn

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// SlowInitService's Initialize says it started, then waits for its ctx,
// and cleans up (says so) before it returns: a service opening a session
// with an ECU, interrupted.
type SlowInitService struct{ slowInit }

func newSlowInit(struct{}) (*SlowInitService, error) { return &SlowInitService{}, nil }

// slowInit is the slow start of SlowInitService and SecondSlowInitService:
// Initialize says "initializing", waits for its ctx, says "initialize
// interrupted: cleaned up" and returns the ctx's error. With a marker file
// only a restart is slow: the first start (no file yet) writes the file and
// returns at once, and a restart says "re-initializing" and "re-initialize
// interrupted: cleaned up".
type slowInit struct{ marker string }

func (s *slowInit) Initialize(ctx context.Context) error {
	again := ""
	if s.marker != "" {
		if restart, err := restarted(s.marker); !restart {
			return err
		}
		again = "re-"
	}
	slog.Info(again + "initializing")
	<-ctx.Done()
	slog.Info(again + "initialize interrupted: cleaned up")
	return ctx.Err()
}
func (*slowInit) Shutdown(context.Context) error { return nil }
func (*slowInit) Nop(context.Context) error      { return nil }

// restarted reports whether a start is a restart: whether marker exists.
// The first start writes it.
func restarted(marker string) (bool, error) {
	if _, err := os.Stat(marker); err != nil {
		return false, os.WriteFile(marker, nil, 0o600)
	}
	return true, nil
}

var _ = func() bool { Register(newSlowInit); return true }()

// seen closes a channel per message the first time a record has it.
type seen struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func (s *seen) of(msg string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[string]chan struct{}{}
	}
	c, ok := s.ch[msg]
	if !ok {
		c = make(chan struct{})
		s.ch[msg] = c
	}
	return c
}

func (s *seen) Enabled(context.Context, slog.Level) bool { return true }
func (s *seen) Handle(_ context.Context, r slog.Record) error {
	c := s.of(r.Message)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
	return nil
}
func (s *seen) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *seen) WithGroup(string) slog.Handler      { return s }

func (s *seen) has(msg string) bool {
	select {
	case <-s.of(msg):
		return true
	default:
		return false
	}
}

// TestStartInterruptedStopsGracefully: Run's ctx ending while the
// child's Initialize runs (Ctrl-C in bgkit up) asks the child to stop as
// Terminate does — its Initialize's ctx ends, it cleans up, its logs
// arrive — and kills it only after the grace period. It was SIGKILLed at
// once, in the middle of Initialize.
func TestStartInterruptedStopsGracefully(t *testing.T) {
	b := testBus(t)
	rec := &seen{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rec.of("initializing")
		cancel()
	}()
	h, err := Run(ctx, b, newSlowInit, struct{}{}, WithLogger(slog.New(rec)), WithGrace(10*time.Second))
	if err == nil {
		_ = h.Terminate(context.Background())
		t.Fatal("Run returned a handle for a start whose ctx ended")
	}
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Errorf("Run: %v, want ErrStart for the ctx", err)
	}
	if strings.Contains(err.Error(), "killed by") {
		t.Errorf("Run: %v: the child was killed, not asked to stop", err)
	}
	if !rec.has("initialize interrupted: cleaned up") {
		t.Errorf("the child's Initialize did not see its ctx end (or its record was lost): %v", err)
	}
}

// A child whose Initialize ignores its ctx is killed after the grace.
func TestStartInterruptedKillsAfterGrace(t *testing.T) {
	b := testBus(t)
	rec := &seen{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rec.of("initializing")
		cancel()
	}()
	_, err := Run(ctx, b, newStuckInit, struct{}{}, WithLogger(slog.New(rec)), WithGrace(200*time.Millisecond))
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "killed by SIGKILL") {
		t.Errorf("Run: %v, want ErrStart, killed by SIGKILL", err)
	}
}

// StuckInitService's Initialize never returns.
type StuckInitService struct{}

func newStuckInit(struct{}) (*StuckInitService, error) { return &StuckInitService{}, nil }
func (*StuckInitService) Initialize(ctx context.Context) error {
	slog.Info("initializing")
	select {}
}
func (*StuckInitService) Shutdown(context.Context) error { return nil }
func (*StuckInitService) Nop(context.Context) error      { return nil }

var _ = func() bool { Register(newStuckInit); return true }()
