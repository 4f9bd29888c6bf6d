package integration

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// The waits of spawn end on events, within the grace budget; a wait that
// gives up says why (issue 9, "Redesign the waits in spawn").

// TestLifeWaitGivesUpWithReason: a grandchild that left the process group
// holds the child's stdout after the child exited on its own (os.Exit in
// the service: no exit of spawn's kills the tree, TestTerminateTakesEscapedDescendants).
// Done closes within the budget and the parent's log says what it stopped
// waiting for.
func TestLifeWaitGivesUpWithReason(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	rec := newRecorder()
	const grace = 300 * time.Millisecond
	h, err := spawn.Run(ctx, b, newOrphanService, OrphanArgs{Dir: t.TempDir()},
		spawn.WithName("LIFE_ESCAPE"), spawn.WithGrace(grace), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	var gc int
	if err := c.Call(ctx, "escape", nil, &gc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(gc, syscall.SIGKILL) })
	start := time.Now()
	b.Conn().Publish("svc.LIFE_ESCAPE.exit", []byte("0"))
	select {
	case <-h.Done():
	case <-time.After(10 * grace):
		t.Fatal("Done not closed 10 grace periods after the exit")
	}
	t.Logf("Done after %v with a grace period of %v", time.Since(start), grace)
	gaveUp := func(r slog.Record) bool {
		return r.Level == slog.LevelWarn && strings.Contains(r.Message, "gave up waiting") &&
			strings.Contains(r.Message, "output")
	}
	if countRecords(rec, gaveUp) != 1 {
		for _, r := range rec.all() {
			t.Logf("record: %s %s %v", r.Level, r.Message, attrs(r))
		}
		t.Error("no WARN saying the wait for the output pipes gave up")
	}
}

// TestLifeAgentSentinels: errors from an agent keep their sentinels.
func TestLifeAgentSentinels(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-sentinels"
	startAgent(t, url, agent)
	b := connect(t, url)
	ctx := context.Background()
	registerLocalOnly()

	_, err := spawn.RunKind(ctx, b, "local-only", nil, spawn.OnAgent(agent))
	if !errors.Is(err, spawn.ErrNotRegistered) || !strings.Contains(err.Error(), `"local-only"`) {
		t.Errorf("RunKind of a kind the agent lacks = %v, want ErrNotRegistered naming the kind", err)
	}
	_, err = spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1, FailInit: "no CAN interface can9"},
		spawn.OnAgent(agent), spawn.WithName("LIFE_SENTINEL"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if !errors.Is(err, spawn.ErrStart) || errors.Is(err, spawn.ErrNotRegistered) || !strings.Contains(err.Error(), "can9") {
		t.Errorf("a failing Initialize on an agent = %v, want ErrStart with the reason", err)
	}
}
