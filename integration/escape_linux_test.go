package integration

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// A service's descendants that left its process group — a tool started
// in a session of its own (setsid), a daemon whose parent exited (double
// fork) — escaped the group kill and outlived the child. They must be dead
// once Terminate returns, on a graceful stop and on a kill after the grace.
func TestTerminateTakesEscapedDescendants(t *testing.T) {
	for _, tc := range []struct {
		name string
		args OrphanArgs
	}{
		{"graceful", OrphanArgs{}},
		{"killed after the grace", OrphanArgs{ShutdownHang: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b := bgkittest.Bus(t)
			tc.args.Dir = t.TempDir()
			h, err := spawn.Run(ctx, b, newOrphanService, tc.args,
				spawn.WithName("ESCAPER"), spawn.WithGrace(300*time.Millisecond), spawn.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Terminate(ctx) })
			c, err := controller.Connect(ctx, b, h.ServiceName())
			if err != nil {
				t.Fatal(err)
			}
			var escaped, daemon int
			if err := c.Call(ctx, "escape", nil, &escaped); err != nil {
				t.Fatal(err)
			}
			if err := c.Call(ctx, "daemon", nil, &daemon); err != nil {
				t.Fatal(err)
			}
			for _, pid := range []int{escaped, daemon} {
				t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
				if zombieOrGone(pid) {
					t.Fatalf("descendant %d is not running before Terminate", pid)
				}
			}
			_ = h.Terminate(ctx)
			for what, pid := range map[string]int{"setsid child": escaped, "double-forked daemon": daemon} {
				if !zombieOrGone(pid) {
					t.Errorf("the service's %s (pid %d) still runs after Terminate", what, pid)
				}
			}
		})
	}
}
