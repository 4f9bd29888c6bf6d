package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

func TestInitializeErrorFailsRun(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorder()
	_, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Step: 1, FailInit: "no CAN interface can7"},
		spawn.WithLogger(slog.New(rec)))
	if !errors.Is(err, spawn.ErrStart) {
		t.Fatalf("err = %v, want ErrStart", err)
	}
	for _, want := range []string{"no CAN interface can7", "exit status 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// What it logged before failing reached the parent.
	r := rec.wait(t, time.Second, msgIs("about to fail"))
	pid := attrs(r)["pid"].Int64()
	if !awaitExit(t, int(pid), time.Second) {
		t.Fatalf("child %d still alive after a failed start", pid)
	}
	// The name is free again.
	h, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Step: 1}, spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatalf("respawn after failed start: %v", err)
	}
	h.Terminate(context.Background())
}

func TestStartFailureCarriesStderrTail(t *testing.T) {
	b := bgkittest.Bus(t)
	// Construction fails in the child: the constructor is not even reached
	// when the child cannot decode a field the parent did not validate.
	_, err := spawn.RunKind(context.Background(), b, "counter", []byte(`{"step": "two"}`))
	if err == nil || !strings.Contains(err.Error(), "step") {
		t.Fatalf("err = %v, want a decode error naming step", err)
	}
	_, err = spawn.RunKind(context.Background(), b, "counter", []byte(`{"step": 1, "colour": "red"}`))
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("err = %v, want an unknown-field error naming colour", err)
	}
	_, err = spawn.RunKind(context.Background(), b, "no-such-kind", nil)
	if !errors.Is(err, spawn.ErrNotRegistered) || !strings.Contains(err.Error(), "counter") {
		t.Fatalf("err = %v, want ErrNotRegistered listing the known kinds", err)
	}
}

func TestTerminateEscalatesToKill(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithGrace(300*time.Millisecond), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err := c.Call(ctx, "ignore_term", nil, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Several goroutines terminate at once; all see the same result.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = h.Terminate(ctx) }()
	}
	wg.Wait()
	took := time.Since(start)
	var ee *spawn.ExitError
	if !errors.As(errs[0], &ee) || !ee.Killed || ee.Signal != "SIGKILL" {
		t.Fatalf("Terminate = %v, want an ExitError killed after the grace period", errs[0])
	}
	for i, err := range errs {
		if err != errs[0] {
			t.Errorf("Terminate #%d = %v, differs from #0", i, err)
		}
	}
	if took < 300*time.Millisecond {
		t.Errorf("killed after %v, before the grace period", took)
	}
	if again := h.Terminate(ctx); again != errs[0] {
		t.Errorf("Terminate again = %v", again)
	}
}

func TestCrashReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		crash  func(t *testing.T, b *bus.Bus, h *spawn.Handle)
		status string
	}{
		{"exit 3", func(t *testing.T, b *bus.Bus, h *spawn.Handle) {
			b.Conn().Publish("svc.COUNTER_SERVICE.exit", []byte("3"))
		}, "exit status 3"},
		{"SIGKILL", func(t *testing.T, b *bus.Bus, h *spawn.Handle) {
			syscall.Kill(h.PID(), syscall.SIGKILL)
		}, "killed by SIGKILL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			rec := newRecorder()
			h, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Step: 1}, spawn.WithLogger(slog.New(rec)))
			if err != nil {
				t.Fatal(err)
			}
			tc.crash(t, b, h)
			select {
			case <-h.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("Done not closed after the crash")
			}
			var ee *spawn.ExitError
			if !errors.As(h.Err(), &ee) || !strings.Contains(ee.Error(), tc.status) {
				t.Fatalf("Err = %v, want %q", h.Err(), tc.status)
			}
			if tc.name == "exit 3" && !strings.Contains(ee.StderrTail, "exiting with 3") {
				t.Errorf("stderr tail = %q", ee.StderrTail)
			}
			r := rec.wait(t, time.Second, msgIs("service exited unexpectedly"))
			if r.Level != slog.LevelError {
				t.Errorf("level = %v", r.Level)
			}
			if err := h.Terminate(context.Background()); err != h.Err() {
				t.Errorf("Terminate after crash = %v, want Err()", err)
			}
		})
	}
}

// helperParentEnv makes the test binary act as a parent that spawns
// children and waits to be killed (see TestMain).
const helperParentEnv = "BGKIT_TEST_HELPER_PARENT"

// helperParent spawns n counters, starts a grandchild under each, prints
// their pids and blocks.
func helperParent(n int) {
	ctx := context.Background()
	b, err := bus.Start(ctx)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	var pids []string
	for i := range n {
		h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, spawn.WithName(fmt.Sprintf("C%d", i)))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		c, _ := controller.Connect(ctx, b, h.ServiceName())
		var gc int
		if err := c.Call(ctx, "grandchild", nil, &gc); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		pids = append(pids, fmt.Sprint(h.PID()), fmt.Sprint(gc))
	}
	fmt.Println("PIDS", strings.Join(pids, " "))
	select {}
}

// TestNoOrphansAfterParentSIGKILL: a parent killed with SIGKILL leaves no
// child or grandchild alive after 1 s.
func TestNoOrphansAfterParentSIGKILL(t *testing.T) {
	for _, n := range []int{1, 5} {
		t.Run(fmt.Sprint(n, " children"), func(t *testing.T) {
			pids := runAndKillHelperParent(t, n)
			deadline := time.Now().Add(time.Second)
			for _, pid := range pids {
				if !awaitExit(t, pid, time.Until(deadline)) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("process %d alive 1 s after its parent was killed", pid)
				}
			}
		})
	}
}

func runAndKillHelperParent(t *testing.T, n int) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", helperParentEnv, n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	sc := bufio.NewScanner(out)
	var pids []int
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			cmd.Process.Kill()
			t.Fatal(line)
		}
		if f, ok := strings.CutPrefix(line, "PIDS "); ok {
			for _, s := range strings.Fields(f) {
				var pid int
				fmt.Sscan(s, &pid)
				pids = append(pids, pid)
			}
			break
		}
	}
	if len(pids) != 2*n {
		cmd.Process.Kill()
		t.Fatalf("helper parent printed %v", pids)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return pids
}
