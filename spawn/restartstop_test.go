package spawn

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type secondSlowArgs struct {
	Marker string `json:"marker"`
}

// SecondSlowInitService starts at once the first time (no marker file);
// every later start (a restart) is slow: its Initialize waits for its ctx,
// as a service opening a session that does not answer, and cleans up
// (SlowInitService's start, with a marker).
type SecondSlowInitService struct{ slowInit }

func newSecondSlowInit(a secondSlowArgs) (*SecondSlowInitService, error) {
	return &SecondSlowInitService{slowInit{marker: a.Marker}}, nil
}

var _ = func() bool { Register(newSecondSlowInit); return true }()

// TestTerminateDuringRestartStart: Terminate called while a restart
// policy's relaunch is in the middle of the new child's Initialize must
// stop the service within its grace (Initialize honours its ctx: it must
// not even be killed). The relaunch runs with context.Background(), so
// Terminate cannot interrupt it; it waits for the start timeout.
func TestTerminateDuringRestartStart(t *testing.T) {
	b := testBus(t)
	rec := &seen{}
	marker := filepath.Join(t.TempDir(), "started-once")
	grace := 500 * time.Millisecond
	h, err := Run(context.Background(), b, newSecondSlowInit, secondSlowArgs{Marker: marker},
		WithName("RESTART_SLOW"), WithLogger(slog.New(rec)), WithGrace(grace),
		WithStartTimeout(8*time.Second),
		WithRestart(RestartPolicy{Mode: RestartOnFailure, Backoff: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	// A crash: the policy relaunches, and the new child's Initialize waits.
	_ = syscall.Kill(h.PID(), syscall.SIGKILL)
	select {
	case <-rec.of("re-initializing"):
	case <-time.After(10 * time.Second):
		t.Fatal("no restart")
	}
	t0 := time.Now()
	done := make(chan error, 1)
	go func() { done <- h.Terminate(context.Background()) }()
	var terr error
	select {
	case terr = <-done:
	case <-time.After(12 * time.Second):
		t.Fatal("Terminate did not return")
	}
	took := time.Since(t0)
	t.Logf("Terminate took %v: %v", took.Round(time.Millisecond), terr)
	if took > grace+time.Second {
		t.Errorf("Terminate during a restart's start took %v, grace %v", took.Round(time.Millisecond), grace)
	}
	if !rec.has("re-initialize interrupted: cleaned up") {
		t.Errorf("the relaunched child's Initialize never saw its ctx end (or its record was lost)")
	}
}

// TestTerminateCtxDuringRestartStart: Terminate(ctx) whose ctx ends
// while a restart's child is starting returns only once "the child has
// exited" — it must not return while a child is still coming up, to
// serve afterwards.
func TestTerminateCtxDuringRestartStart(t *testing.T) {
	b := testBus(t)
	rec := &seen{}
	marker := filepath.Join(t.TempDir(), "started-once")
	h, err := Run(context.Background(), b, newSecondSlowInit, secondSlowArgs{Marker: marker},
		WithName("RESTART_SLOW2"), WithLogger(slog.New(rec)), WithGrace(300*time.Millisecond),
		WithStartTimeout(6*time.Second),
		WithRestart(RestartPolicy{Mode: RestartOnFailure, Backoff: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(h.PID(), syscall.SIGKILL)
	select {
	case <-rec.of("re-initializing"):
	case <-time.After(10 * time.Second):
		t.Fatal("no restart")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	terr := h.Terminate(ctx)
	t.Logf("Terminate: %v", terr)
	select {
	case <-h.Done():
	default:
		t.Errorf("Terminate(ctx) returned %v while the service has not stopped (Done open): a child is still starting", terr)
		<-h.Done() // let it end for goleak
	}
}

// BlockingOpenService's Initialize does one blocking step that ignores
// its ctx (400 ms: a dial, a file open) and returns nil; its Shutdown
// flushes for 700 ms or until its ctx ends, and says so.
type BlockingOpenService struct{}

func newBlockingOpen(struct{}) (*BlockingOpenService, error) { return &BlockingOpenService{}, nil }
func (*BlockingOpenService) Initialize(ctx context.Context) error {
	slog.Info("initializing")
	time.Sleep(400 * time.Millisecond)
	return nil
}
func (*BlockingOpenService) Shutdown(ctx context.Context) error {
	select {
	case <-time.After(700 * time.Millisecond):
	case <-ctx.Done():
	}
	slog.Info("shut down: flushed")
	return nil
}
func (*BlockingOpenService) Nop(context.Context) error { return nil }

var _ = func() bool { Register(newBlockingOpen); return true }()

// TestInterruptedStartShutdownBudget: a start given up while
// Initialize is in a blocking step stops the child "as Terminate does":
// its Shutdown, which honours its ctx, gets what is left of the grace and
// its records arrive; it is not killed. The child's service.Run counts
// the shutdown budget from Initialize's return instead of the stop, so
// Shutdown runs past the parent's grace and the child is SIGKILLed.
func TestInterruptedStartShutdownBudget(t *testing.T) {
	b := testBus(t)
	rec := &seen{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rec.of("initializing")
		cancel()
	}()
	h, err := Run(ctx, b, newBlockingOpen, struct{}{}, WithLogger(slog.New(rec)), WithGrace(time.Second))
	if err == nil {
		_ = h.Terminate(context.Background())
		t.Fatal("Run returned a handle for a start whose ctx ended")
	}
	t.Logf("Run: %v", err)
	if strings.Contains(err.Error(), "killed by") {
		t.Errorf("Run: %v: a child whose Shutdown honours its ctx was killed", err)
	}
	if !rec.has("shut down: flushed") {
		t.Errorf("the child's Shutdown record was lost")
	}
}

// SecondSlowStuckService starts at once the first time; a restart's
// Initialize takes 1 s (a blocking open that ignores ctx), and its
// Shutdown never returns: only the parent's SIGKILL after the grace
// stops it.
type SecondSlowStuckService struct{ marker string }

func newSecondSlowStuck(a secondSlowArgs) (*SecondSlowStuckService, error) {
	return &SecondSlowStuckService{marker: a.Marker}, nil
}
func (s *SecondSlowStuckService) Initialize(ctx context.Context) error {
	if restart, err := restarted(s.marker); !restart {
		return err
	}
	slog.Info("re-initializing")
	time.Sleep(time.Second)
	return nil
}
func (*SecondSlowStuckService) Shutdown(context.Context) error { select {} }
func (*SecondSlowStuckService) Nop(context.Context) error      { return nil }

var _ = func() bool { Register(newSecondSlowStuck); return true }()

// TestTerminateDuringRestartNeverKills: "At the end of the budget
// the parent SIGKILLs the process group." Terminate during a restart's
// start: the grace timer fires on the dead instance, the new one only
// gets a SIGTERM once it serves, and nothing ever kills it.
func TestTerminateDuringRestartNeverKills(t *testing.T) {
	b := testBus(t)
	rec := &seen{}
	marker := filepath.Join(t.TempDir(), "started-once")
	grace := 300 * time.Millisecond
	h, err := Run(context.Background(), b, newSecondSlowStuck, secondSlowArgs{Marker: marker},
		WithName("RESTART_STUCK"), WithLogger(slog.New(rec)), WithGrace(grace),
		WithRestart(RestartPolicy{Mode: RestartOnFailure, Backoff: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(h.PID(), syscall.SIGKILL)
	select {
	case <-rec.of("re-initializing"):
	case <-time.After(10 * time.Second):
		t.Fatal("no restart")
	}
	done := make(chan error, 1)
	go func() { done <- h.Terminate(context.Background()) }()
	select {
	case err := <-done:
		t.Logf("Terminate: %v", err)
	case <-time.After(5 * time.Second):
		t.Errorf("Terminate (grace %v) during a restart's start has not returned after 5 s: the new child (pid %d) is never killed", grace, h.PID())
		_ = syscall.Kill(-h.PID(), syscall.SIGKILL)
		<-done
	}
}
