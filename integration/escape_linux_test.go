package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// A child adopts its orphaned descendants (to kill them with it): it must
// reap them as they exit, or a service that starts a shell's background
// job now and then fills the process table with zombies; and it must not
// reap the service's own children, which are the service's to wait for.
func TestAdoptedOrphansReaped(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, err := spawn.Run(ctx, b, newOrphanService, OrphanArgs{Dir: t.TempDir()},
		spawn.WithName("ADOPTER"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "background_jobs", 50, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var zombies []int
	for {
		zombies = zombies[:0]
		kids := childrenOf(t, h.PID())
		for _, k := range kids {
			if zombieOrGone(k) {
				zombies = append(zombies, k)
			}
		}
		if len(zombies) == 0 && len(kids) < 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(zombies) > 0 {
		t.Errorf("%d exited orphans the child adopted are not reaped (zombies %v)", len(zombies), zombies)
	}
	var code int
	if err := c.Call(ctx, "wait_late", nil, &code); err != nil || code != 7 {
		t.Errorf("the service's own child, waited for after it exited: code %d, %v; want 7", code, err)
	}
}

// childrenOf lists pid's children (/proc/PID/task/*/children).
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if k, err := strconv.Atoi(field); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// TestEscapedOutputHolderKilled: a grandchild that left the process group
// holds the child's stdout after the child exited on its own (os.Exit in
// the service: it killed no tree). The parent finds it by the pipe it
// holds, kills it and says so; Done closes at once, not at the end of the
// grace period it would wait for the pipes.
func TestEscapedOutputHolderKilled(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	rec := newRecorder()
	const grace = 5 * time.Second
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
	case <-time.After(2 * grace):
		t.Fatal("Done not closed two grace periods after the exit")
	}
	took := time.Since(start)
	t.Logf("Done after %v with a grace period of %v", took, grace)
	if took > grace/2 {
		t.Errorf("Done after %v: the parent waited for the pipes the escaped grandchild held", took)
	}
	if !awaitExit(t, gc, time.Second) {
		t.Errorf("the escaped grandchild %d that held the child's stdout still runs", gc)
	}
	named := func(r slog.Record) bool {
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = found || a.Key == "holder_pid" && a.Value.Int64() == int64(gc)
			return !found
		})
		return r.Level == slog.LevelWarn && found
	}
	if countRecords(rec, named) != 1 {
		for _, r := range rec.all() {
			t.Logf("record: %s %s %v", r.Level, r.Message, attrs(r))
		}
		t.Errorf("no WARN naming the killed holder %d", gc)
	}
}

// TestCrashTakesEscapedDescendants: descendants that left the child's
// process group and hold none of its output — a double-forked daemon
// writing to /dev/null, a setsid tool — are killed when the service ends
// by itself (os.Exit, a crash: the child killed no tree), and the parent
// says so. They were left running: nothing of the child's led to them.
func TestCrashTakesEscapedDescendants(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	rec := newRecorder()
	dir := t.TempDir()
	h, err := spawn.Run(ctx, b, newOrphanService, OrphanArgs{Dir: dir, Setsid: true},
		spawn.WithName("CRASH_ESCAPE"), spawn.WithGrace(5*time.Second), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	var daemon int
	if err := c.Call(ctx, "daemon", nil, &daemon); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(daemon, syscall.SIGKILL) })
	setsid := grandchildren(t, dir, h.PID())
	if len(setsid) != 1 {
		t.Fatalf("the service's setsid grandchild: %v, want one", setsid)
	}
	t.Cleanup(func() { syscall.Kill(setsid[0], syscall.SIGKILL) })
	b.Conn().Publish("svc.CRASH_ESCAPE.exit", []byte("3"))
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed 10 s after the exit")
	}
	for what, pid := range map[string]int{"double-forked daemon": daemon, "setsid child": setsid[0]} {
		if !awaitExit(t, pid, time.Second) {
			t.Errorf("the service's %s (pid %d) still runs after the service exited by itself", what, pid)
			continue
		}
		named := func(r slog.Record) bool {
			found := false
			r.Attrs(func(a slog.Attr) bool {
				found = found || a.Key == "pid" && a.Value.Int64() == int64(pid)
				return !found
			})
			return r.Level == slog.LevelWarn && found
		}
		if countRecords(rec, named) != 1 {
			t.Errorf("no WARN naming the killed %s %d", what, pid)
		}
	}
}

// grandchildren are the pids of the grandchildren the orphanService of
// pid started, as its Initialize wrote them in dir (<pid>-<grandchild>).
func grandchildren(t *testing.T, dir string, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		c, gc, _ := strings.Cut(e.Name(), "-")
		if c == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(gc)
			pids = append(pids, n)
		}
	}
	return pids
}

// BackgroundJobs runs n shell background jobs whose shell exits at once,
// as `sh -c 'job &'` does: each job, orphaned, ends 20 ms later.
func (s *orphanService) BackgroundJobs(ctx context.Context, n int) error {
	return exec.Command("sh", "-c", fmt.Sprintf("for i in $(seq %d); do (sleep 0.02 &); done", n)).Run()
}

// WaitLate starts a process that exits at once, waits until it has
// exited and a moment more, then waits for it: its exit code.
func (s *orphanService) WaitLate(ctx context.Context) (int, error) {
	cmd := exec.Command("sh", "-c", "exit 7")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	for !zombieOrGone(cmd.Process.Pid) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a SIGCHLD's reaping would be done by now
	err := cmd.Wait()
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return xe.ExitCode(), nil
	}
	return 0, fmt.Errorf("wait: %v", err)
}
