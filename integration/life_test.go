package integration

import (
	"context"
	"encoding/json"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// Lifecycle events on life.NAME: started, exited, restarting (issue 9,
// "Fail fast"; DESIGN.md "Events, streams and lifecycle").

// lifeWatch subscribes to life.<name> on nc and hands out the events.
type lifeWatch struct {
	t   *testing.T
	sub *nats.Subscription
}

func lifeSubscribe(t *testing.T, nc *nats.Conn, name string) *lifeWatch {
	t.Helper()
	sub, err := nc.SubscribeSync(bus.LifeSubject(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return &lifeWatch{t: t, sub: sub}
}

// next waits for the next event, which must be of kind want.
func (w *lifeWatch) next(want string, timeout time.Duration) bus.LifeEvent {
	w.t.Helper()
	m, err := w.sub.NextMsg(timeout)
	if err != nil {
		w.t.Fatalf("no %q lifecycle event within %v: %v", want, timeout, err)
	}
	var ev bus.LifeEvent
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		w.t.Fatalf("lifecycle event %q: %v", m.Data, err)
	}
	if ev.Event != want {
		w.t.Fatalf("lifecycle event %+v, want %q", ev, want)
	}
	if ev.Time.IsZero() {
		w.t.Errorf("lifecycle event %+v without a time", ev)
	}
	return ev
}

// none checks that no further event comes within d.
func (w *lifeWatch) none(d time.Duration) {
	w.t.Helper()
	if m, err := w.sub.NextMsg(d); err == nil {
		w.t.Errorf("unexpected lifecycle event %s", m.Data)
	}
}

func TestLifeStartedExited(t *testing.T) {
	for _, tc := range []struct {
		name   string
		crash  func(b *bus.Bus, h *spawn.Handle)
		status int
		signal string
	}{
		{"exit 3", func(b *bus.Bus, h *spawn.Handle) {
			b.Conn().Publish("svc.LIFE_EXIT.exit", []byte("3"))
		}, 3, ""},
		{"SIGKILL", func(b *bus.Bus, h *spawn.Handle) {
			syscall.Kill(h.PID(), syscall.SIGKILL)
		}, -1, "SIGKILL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b := bgkittest.Bus(t)
			w := lifeSubscribe(t, b.Conn(), "LIFE_EXIT")
			h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
				spawn.WithName("LIFE_EXIT"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Terminate(ctx) })
			st := w.next(bus.LifeStarted, 5*time.Second)
			if st.Name != "LIFE_EXIT" || st.PID != h.PID() || st.ID == "" || st.Host == "" {
				t.Errorf("started = %+v, want name, pid %d, id and host", st, h.PID())
			}
			tc.crash(b, h)
			ex := w.next(bus.LifeExited, 5*time.Second)
			if ex.Status != tc.status || ex.Signal != tc.signal || ex.PID != h.PID() || ex.ID != st.ID || ex.Error == "" {
				t.Errorf("exited = %+v, want status %d signal %q for pid %d id %s, with an error",
					ex, tc.status, tc.signal, h.PID(), st.ID)
			}
			<-h.Done()
			if ex.Time.Before(st.Time) {
				t.Errorf("exited at %v, before started at %v", ex.Time, st.Time)
			}
			w.none(100 * time.Millisecond)
		})
	}
}

// TestLifeTerminated: a clean stop is exited with status 0 and no error.
func TestLifeTerminated(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	w := lifeSubscribe(t, b.Conn(), "LIFE_TERM")
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithName("LIFE_TERM"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	w.next(bus.LifeStarted, 5*time.Second)
	if err := h.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if ex := w.next(bus.LifeExited, time.Second); ex.Status != 0 || ex.Signal != "" || ex.Error != "" {
		t.Errorf("exited = %+v, want status 0 without an error", ex)
	}
}

// TestLifeRestarting: a crash under a restart policy is exited, then
// restarting with the attempt and backoff, then started again.
func TestLifeRestarting(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	w := lifeSubscribe(t, b.Conn(), "LIFE_RESTART")
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithName("LIFE_RESTART"), spawn.WithLogger(slog.New(slog.DiscardHandler)),
		spawn.WithRestart(spawn.RestartPolicy{Mode: spawn.RestartOnFailure, Backoff: 150 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Terminate(ctx) })
	first := w.next(bus.LifeStarted, 5*time.Second)
	b.Conn().Publish("svc.LIFE_RESTART.exit", []byte("4"))
	if ex := w.next(bus.LifeExited, 5*time.Second); ex.Status != 4 || ex.PID != first.PID {
		t.Errorf("exited = %+v, want status 4 of pid %d", ex, first.PID)
	}
	rs := w.next(bus.LifeRestarting, 5*time.Second)
	if rs.Attempt != 1 || rs.BackoffMS != 150 || rs.Error == "" {
		t.Errorf("restarting = %+v, want attempt 1, backoff 150 ms and the cause", rs)
	}
	second := w.next(bus.LifeStarted, 10*time.Second)
	if second.PID == first.PID || second.ID == first.ID {
		t.Errorf("second start %+v has the first one's pid or id", second)
	}
	if err := h.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if ex := w.next(bus.LifeExited, time.Second); ex.Status != 0 || ex.PID != second.PID {
		t.Errorf("exited = %+v, want status 0 of pid %d", ex, second.PID)
	}
}

// TestLifeOnAgent: the agent publishes the lifecycle of what it runs.
func TestLifeOnAgent(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-life"
	startAgent(t, url, agent)
	b := connect(t, url)
	ctx := context.Background()
	w := lifeSubscribe(t, b.Conn(), "LIFE_AGENT")
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.OnAgent(agent), spawn.WithName("LIFE_AGENT"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, h)
	st := w.next(bus.LifeStarted, 5*time.Second)
	if st.PID != h.PID() || st.ID == "" {
		t.Errorf("started = %+v, want pid %d and an id", st, h.PID())
	}
	b.Conn().Publish("svc.LIFE_AGENT.exit", []byte("3"))
	if ex := w.next(bus.LifeExited, 5*time.Second); ex.Status != 3 || ex.PID != h.PID() {
		t.Errorf("exited = %+v, want status 3 of pid %d", ex, h.PID())
	}
	<-h.Done()
	w.none(100 * time.Millisecond)
}

// TestLifeExitedBeforeLogs: exited goes out as soon as the exit is
// observed, not after the parent's waits for logs and pipes (here held
// open by a grandchild that left the process group).
func TestLifeExitedBeforeLogs(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	w := lifeSubscribe(t, b.Conn(), "LIFE_EARLY")
	h, err := spawn.Run(ctx, b, newOrphanService, OrphanArgs{Dir: t.TempDir()},
		spawn.WithName("LIFE_EARLY"), spawn.WithGrace(2*time.Second), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Terminate(ctx) })
	w.next(bus.LifeStarted, 5*time.Second)
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	var gc int
	if err := c.Call(ctx, "escape", nil, &gc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(gc, syscall.SIGKILL) })
	b.Conn().Publish("svc.LIFE_EARLY.exit", []byte("5"))
	ex := w.next(bus.LifeExited, 5*time.Second)
	select {
	case <-h.Done():
		t.Error("Done closed before the exited event was received")
	default:
	}
	if ex.Status != 5 {
		t.Errorf("exited = %+v, want status 5", ex)
	}
	<-h.Done()
}
