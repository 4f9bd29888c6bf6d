package integration

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// TestRestartOnFailure: a crashed child is restarted with backoff, the
// handle follows it, callers get a clear error in the gap, and the limit
// ends it.
func TestRestartOnFailure(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	rec := newRecorder()
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, spawn.WithLogger(slog.New(rec)),
		spawn.WithRestart(spawn.RestartPolicy{Mode: spawn.RestartOnFailure, Backoff: 200 * time.Millisecond, Limit: 2}))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	for restart := 1; restart <= 2; restart++ {
		pid := h.PID()
		b.Conn().Publish("svc.COUNTER_SERVICE.exit", []byte("3"))
		rec.wait(t, 5*time.Second, func(r slog.Record) bool {
			return r.Message == "service exited; restarting" && attrs(r)["restart"].Int64() == int64(restart)
		})
		// During the gap a call fails at once, not after a timeout.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		err := c.Call(cctx, "value", nil, nil)
		cancel()
		if err != nil && !errors.Is(err, controller.ErrNoService) {
			t.Fatalf("call in the gap = %v, want ErrNoService", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("call in the gap took %v", took)
		}
		rec.wait(t, 5*time.Second, func(r slog.Record) bool {
			return r.Message == "service restarted" && attrs(r)["restart"].Int64() == int64(restart)
		})
		if h.PID() == pid || h.Restarts() != restart {
			t.Fatalf("after restart %d: pid %d (was %d), Restarts %d", restart, h.PID(), pid, h.Restarts())
		}
		var v int
		if err := c.Call(ctx, "add", 2, &v); err != nil || v != 2 {
			t.Fatalf("call after restart = %d, %v", v, err)
		}
		select {
		case <-h.Done():
			t.Fatal("Done closed while restarting")
		default:
		}
	}
	// The limit is reached: the third crash is final.
	b.Conn().Publish("svc.COUNTER_SERVICE.exit", []byte("3"))
	select {
	case <-h.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the restart limit")
	}
	var ee *spawn.ExitError
	if !errors.As(h.Err(), &ee) || ee.Code != 3 {
		t.Fatalf("Err = %v, want exit status 3", h.Err())
	}
}

// TestTerminateStopsRestarts: Terminate ends a service with RestartAlways.
func TestTerminateStopsRestarts(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, quiet,
		spawn.WithRestart(spawn.RestartPolicy{Mode: spawn.RestartAlways, Backoff: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Terminate(ctx); err != nil {
		t.Fatalf("Terminate = %v", err)
	}
	if h.Restarts() != 0 {
		t.Fatalf("restarted %d times after Terminate", h.Restarts())
	}
	if _, err := controller.Connect(ctx, b, "COUNTER_SERVICE"); !errors.Is(err, controller.ErrNoService) {
		t.Fatalf("service still answers after Terminate: %v", err)
	}
}
