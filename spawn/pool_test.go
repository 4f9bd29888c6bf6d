package spawn

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

func poolTestSpawn(t *testing.T, b *bus.Bus, pool *Pool, name string, opts ...Option) *Handle {
	t.Helper()
	opts = append([]Option{WithPool(pool), WithName(name), WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), opts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.Connect(context.Background(), b, name)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	if err := c.Call(context.Background(), "port", nil, &port); err != nil || port != 7 {
		t.Fatalf("port = %d, %v", port, err)
	}
	return h
}

// poolAwaitExit waits until pid has exited (it is a zombie or gone).
func poolAwaitExit(t *testing.T, c *childProc) {
	t.Helper()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.discard()
		t.Fatalf("pid %d still running", c.cmd.Process.Pid)
	}
}

func TestPool(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, pool *Pool)
	}{
		{"spawn takes a warm child and the pool refills", func(t *testing.T, pool *Pool) {
			pids := poolIdlePIDs(pool)
			h := poolTestSpawn(t, pool.b, pool, "POOL_TAKE")
			if !containsPID(pids, h.PID()) {
				t.Errorf("pid %d is not one of the pool's %v", h.PID(), pids)
			}
			if err := h.Terminate(context.Background()); err != nil {
				t.Fatal(err)
			}
			poolAwaitIdle(t, pool, 2)
		}},
		{"a spawn with its own environment execs a new child", func(t *testing.T, pool *Pool) {
			pids := poolIdlePIDs(pool)
			h := poolTestSpawn(t, pool.b, pool, "POOL_ENV", WithEnv("POOL_TEST=1"))
			if containsPID(pids, h.PID()) {
				t.Errorf("pid %d came from the pool", h.PID())
			}
			h.Terminate(context.Background())
		}},
		{"a dead idle child is skipped", func(t *testing.T, pool *Pool) {
			pids := poolIdlePIDs(pool)
			syscall.Kill(pids[0], syscall.SIGKILL)
			// Wait until it has exited (not reaped: the pool reaps it).
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				pool.mu.Lock()
				alive := pool.idle[0].alive()
				pool.mu.Unlock()
				if !alive {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("killed child still alive")
				}
			}
			h := poolTestSpawn(t, pool.b, pool, "POOL_DEAD")
			if h.PID() == pids[0] {
				t.Fatal("spawned on the dead child")
			}
			h.Terminate(context.Background())
		}},
		{"an idle child that dies once taken is replaced by a fresh one", func(t *testing.T, pool *Pool) {
			pids := poolIdlePIDs(pool)
			testHookBeforeBootstrap = func(pid int) {
				if pid != pids[0] {
					return
				}
				syscall.Kill(pid, syscall.SIGKILL)
				for deadline := time.Now().Add(10 * time.Second); processAlive(pid); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Error("killed child still alive")
						return
					}
				}
			}
			defer func() { testHookBeforeBootstrap = nil }()
			h := poolTestSpawn(t, pool.b, pool, "POOL_GONE") // failed: exited before it was ready
			if h.PID() == pids[0] || slices.Contains(pids, h.PID()) {
				t.Errorf("pid %d, want a fresh child (the pool's were %v)", h.PID(), pids)
			}
			h.Terminate(context.Background())
		}},
		{"an idle child dies of SIGTERM, as a process that catches nothing", func(t *testing.T, pool *Pool) {
			c := pool.take()
			if c == nil {
				t.Fatal("no idle child")
			}
			defer c.discard()
			if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("pid %d still running 10 s after SIGTERM", c.cmd.Process.Pid)
			}
			ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Errorf("idle child ended with %v, want killed by SIGTERM", c.cmd.ProcessState)
			}
		}},
		{"an idle child exits when its parent's end of the bootstrap closes", func(t *testing.T, pool *Pool) {
			c := pool.take()
			if c == nil {
				t.Fatal("no idle child")
			}
			c.boot.Close() // what the parent's exit does
			poolAwaitExit(t, c)
			c.discard()
		}},
		{"a warm child says ready over the bus too", func(t *testing.T, pool *Pool) {
			rec := &readyRecords{}
			for i := range 4 {
				poolAwaitIdle(t, pool, 2)
				h := poolTestSpawn(t, pool.b, pool, fmt.Sprintf("POOL_READY%d", i), WithLogger(slog.New(rec)))
				if err := h.Terminate(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.via) != 4 || !slices.Contains(rec.via, "bus") {
				t.Errorf("ready via %q, want 4, the bus among them", rec.via)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, err := NewPool(testBus(t), 2)
			if err != nil {
				t.Fatal(err)
			}
			pids := poolIdlePIDs(pool)
			tt.run(t, pool)
			pool.Close()
			pool.Close() // idempotent
			if pool.Idle() != 0 {
				t.Fatalf("Idle after Close = %d", pool.Idle())
			}
			for _, pid := range pids {
				if err := syscall.Kill(pid, 0); err == nil && !poolReaped(pid) {
					t.Errorf("pooled pid %d still running after Close", pid)
				}
			}
		})
	}
}

func TestNewPoolRefusesSize(t *testing.T) {
	if _, err := NewPool(testBus(t), 0); err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("NewPool(0) = %v", err)
	}
}

func poolIdlePIDs(p *Pool) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, c := range p.idle {
		pids = append(pids, c.cmd.Process.Pid)
	}
	return pids
}

func containsPID(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

func poolAwaitIdle(t *testing.T, p *Pool, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); p.Idle() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pool has %d idle children, want %d", p.Idle(), n)
		}
	}
}

// poolReaped reports whether pid is no child of ours any more (a pid in
// use by an unrelated process answers kill(0) too).
func poolReaped(pid int) bool {
	var ws syscall.WaitStatus
	_, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	return err != nil // ECHILD: not our child
}
