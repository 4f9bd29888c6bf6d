package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/spawn"
)

// No orphans in any window (issue 9, finding 4): a parent that dies
// before, during or after its child's Initialize, during its Shutdown or
// during a restart backoff leaves no child and no grandchild alive.

// OrphanArgs drive orphanService through the windows of its life.
type OrphanArgs struct {
	Dir             string `json:"dir"`               // where grandchild pids are written
	BeginDelayMs    int    `json:"begin_delay_ms"`    // Initialize waits this long before starting its grandchild
	InitDelayMs     int    `json:"init_delay_ms"`     // then this long before it returns
	ShutdownDelayMs int    `json:"shutdown_delay_ms"` // Shutdown waits this long (or for its ctx)
	ShutdownFail    bool   `json:"shutdown_fail"`     // then returns an error
	ShutdownHang    bool   `json:"shutdown_hang"`     // Shutdown ignores its ctx: the parent must kill
	Setsid          bool   `json:"setsid"`            // the grandchild leaves the process group
}

// orphanService starts a grandchild (sleep 300) in Initialize.
type orphanService struct{ args OrphanArgs }

func newOrphanService(a OrphanArgs) (*orphanService, error) { return &orphanService{args: a}, nil }

func (s *orphanService) Initialize(ctx context.Context) error {
	slog.Info("orphan begin")
	time.Sleep(time.Duration(s.args.BeginDelayMs) * time.Millisecond)
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: s.args.Setsid}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	// Written before anything else can happen, so the test finds every
	// grandchild that was started.
	name := filepath.Join(s.args.Dir, fmt.Sprintf("%d-%d", os.Getpid(), cmd.Process.Pid))
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		return err
	}
	slog.Info("orphan init", "gc", cmd.Process.Pid)
	time.Sleep(time.Duration(s.args.InitDelayMs) * time.Millisecond)
	return nil
}

func (s *orphanService) Shutdown(ctx context.Context) error {
	slog.Info("orphan shutdown")
	if s.args.ShutdownHang {
		select {} // until killed
	}
	select {
	case <-time.After(time.Duration(s.args.ShutdownDelayMs) * time.Millisecond):
	case <-ctx.Done():
	}
	if s.args.ShutdownFail {
		return errors.New("orphan shutdown fails")
	}
	return nil
}

// Exit ends the process with code.
func (s *orphanService) Exit(ctx context.Context, code int) error {
	os.Exit(code)
	return nil
}

// Escape starts a grandchild that leaves the process group (setsid) and
// holds the service's stdout, and returns its pid.
func (s *orphanService) Escape(ctx context.Context) (int, error) {
	cmd := exec.Command("sleep", "300")
	cmd.Stdout = os.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

// Daemon starts a daemon as a shell's `setsid … &` does (double fork:
// its parent, the shell, exits at once) and returns its pid.
func (s *orphanService) Daemon(ctx context.Context) (int, error) {
	out, err := exec.Command("sh", "-c", "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// orphanParentEnv makes the test binary a parent that spawns one
// orphanService as orphanParentSpec says and waits to be killed.
const orphanParentEnv = "BGKIT_TEST_ORPHAN_PARENT"

type orphanParentSpec struct {
	Args      OrphanArgs `json:"args"`
	Terminate bool       `json:"terminate"` // terminate the service once it serves
	Restart   bool       `json:"restart"`   // make it crash, under a restart policy with a long backoff
	Many      int        `json:"many"`      // spawn this many at once (ORPHAN0…) and wait
}

func init() {
	spawn.Register(newOrphanService)
	if spec := os.Getenv(orphanParentEnv); spec != "" && !spawn.IsChild() {
		spawn.Main()
		orphanParent(spec)
	}
}

// orphanParent serves spec: the child's records go to stdout (the test
// reads them), then READY <pid>, RESTARTING <pid>.
func orphanParent(spec string) {
	var sp orphanParentSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	b, err := bus.Start(ctx)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	sub, err := b.Conn().Subscribe(bus.LifeSubject("ORPHAN"), func(m *nats.Msg) {
		var ev bus.LifeEvent
		if json.Unmarshal(m.Data, &ev) == nil && ev.Event == bus.LifeRestarting {
			fmt.Println("RESTARTING", ev.PID)
		}
	})
	if err != nil || b.Conn().Flush() != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	defer sub.Unsubscribe()
	if sp.Many > 0 {
		for i := range sp.Many {
			go func() {
				h, err := spawn.Run(ctx, b, newOrphanService, sp.Args, spawn.WithName(fmt.Sprint("ORPHAN", i)),
					spawn.WithLogger(logger))
				if err != nil {
					fmt.Println("SPAWN FAILED", err)
					return
				}
				<-h.Done()
				fmt.Println("EXITED", h.PID(), h.Err())
			}()
		}
		select {}
	}
	opts := []spawn.Option{spawn.WithName("ORPHAN"), spawn.WithLogger(logger), spawn.WithGrace(10 * time.Second)}
	if sp.Restart {
		opts = append(opts, spawn.WithRestart(spawn.RestartPolicy{Mode: spawn.RestartOnFailure, Backoff: time.Minute}))
	}
	h, err := spawn.Run(ctx, b, newOrphanService, sp.Args, opts...)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("READY", h.PID())
	switch {
	case sp.Terminate:
		go h.Terminate(ctx)
	case sp.Restart:
		_ = b.Conn().Publish(bus.ServiceSubject("ORPHAN", "exit"), []byte("3"))
	}
	select {}
}

var orphanPidRe = regexp.MustCompile(`\bpid=(\d+)`)

func TestOrphanNone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   orphanParentSpec
		killOn string // kill the parent when a line starts with this
	}{
		{"before Initialize starts its grandchild", orphanParentSpec{Args: OrphanArgs{BeginDelayMs: 150}}, `msg="orphan begin"`},
		{"Initialize returns at once", orphanParentSpec{}, `msg="orphan init"`},
		{"Initialize returns 100 ms later", orphanParentSpec{Args: OrphanArgs{InitDelayMs: 100}}, `msg="orphan init"`},
		{"Initialize returns 250 ms later", orphanParentSpec{Args: OrphanArgs{InitDelayMs: 250}}, `msg="orphan init"`},
		{"Initialize returns 500 ms later", orphanParentSpec{Args: OrphanArgs{InitDelayMs: 500}}, `msg="orphan init"`},
		{"serving", orphanParentSpec{}, "READY"},
		{"serving, the grandchild in a session of its own", orphanParentSpec{Args: OrphanArgs{Setsid: true}}, "READY"},
		{"Initialize returns 250 ms later, the grandchild in a session of its own",
			orphanParentSpec{Args: OrphanArgs{InitDelayMs: 250, Setsid: true}}, `msg="orphan init"`},
		{"Shutdown fails 100 ms later", orphanParentSpec{Terminate: true,
			Args: OrphanArgs{ShutdownDelayMs: 100, ShutdownFail: true}}, `msg="orphan shutdown"`},
		{"Shutdown returns 100 ms later", orphanParentSpec{Terminate: true,
			Args: OrphanArgs{ShutdownDelayMs: 100}}, `msg="orphan shutdown"`},
		{"Shutdown outlasts the budget", orphanParentSpec{Terminate: true,
			Args: OrphanArgs{ShutdownDelayMs: 60000}}, `msg="orphan shutdown"`},
		{"restart backoff", orphanParentSpec{Restart: true}, "RESTARTING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.spec.Args.Dir = dir
			spec, _ := json.Marshal(tc.spec)
			child := orphanRunParent(t, string(spec), tc.killOn)
			// The child goes first; its grandchildren with it (one group
			// kill). Margin: the 300 ms budget of a child whose parent is
			// gone, plus a loaded machine.
			const margin = 3 * time.Second
			if !awaitExit(t, child, margin) {
				t.Errorf("child %d alive %v after its parent was killed", child, margin)
				syscall.Kill(-child, syscall.SIGKILL)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				f := strings.Split(e.Name(), "-")
				gc, _ := strconv.Atoi(f[1])
				if !awaitExit(t, gc, time.Second) {
					t.Errorf("grandchild %d (of child %s) alive after its parent and child died", gc, f[0])
					syscall.Kill(gc, syscall.SIGKILL)
				}
			}
			if len(ents) == 0 && !strings.Contains(tc.killOn, "begin") {
				t.Error("no grandchild was started")
			}
		})
	}
}

// orphanRunParent starts a parent as spec says, SIGKILLs it when its
// output has a line containing killOn and returns the pid of its child.
func orphanRunParent(t *testing.T, spec, killOn string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanParentEnv+"="+spec)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if strings.HasPrefix(line, "ERR") {
			cmd.Process.Kill()
			t.Fatal(line)
		}
		if !strings.Contains(line, killOn) {
			continue
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var pid int
		if f := strings.Fields(line); f[0] == "READY" || f[0] == "RESTARTING" {
			pid, _ = strconv.Atoi(f[1])
		} else if m := orphanPidRe.FindStringSubmatch(line); m != nil {
			pid, _ = strconv.Atoi(m[1])
		}
		if pid == 0 {
			t.Fatalf("no pid in %q", line)
		}
		return pid
	}
	cmd.Process.Kill()
	t.Fatalf("parent ended without %q:\n%s", killOn, strings.Join(lines, "\n"))
	return 0
}

// TestOrphanNoneSpawningMany: the parent killed while it spawns 20
// services at once, half of them in Initialize, leaves no child or
// grandchild (the issue saw 7 of 50 grandchildren survive).
func TestOrphanNoneSpawningMany(t *testing.T) {
	const many = 20
	dir := t.TempDir()
	spec, _ := json.Marshal(orphanParentSpec{Many: many, Args: OrphanArgs{Dir: dir, InitDelayMs: 150}})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanParentEnv+"="+string(spec))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	sc := bufio.NewScanner(out)
	children := map[int]bool{}
	inits := 0
	for inits < many/2 && sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			cmd.Process.Kill()
			t.Fatal(line)
		}
		if m := orphanPidRe.FindStringSubmatch(line); m != nil && strings.Contains(line, `msg="orphan `) {
			pid, _ := strconv.Atoi(m[1])
			children[pid] = true
		}
		if strings.Contains(line, `msg="orphan init"`) {
			inits++
		}
		if strings.HasPrefix(line, "SPAWN FAILED") || strings.HasPrefix(line, "EXITED") {
			t.Log(line)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if inits < many/2 {
		t.Fatalf("the parent ended after %d of %d Initialize calls", inits, many)
	}
	const margin = 3 * time.Second
	deadline := time.Now().Add(margin)
	for pid := range children {
		if !awaitExit(t, pid, time.Until(deadline)) {
			t.Errorf("child %d alive %v after its parent was killed", pid, margin)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	// Every child that could still start a grandchild has exited now.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, e := range ents {
		f := strings.Split(e.Name(), "-")
		gc, _ := strconv.Atoi(f[1])
		cpid, _ := strconv.Atoi(f[0])
		if !children[cpid] && !awaitExit(t, cpid, time.Until(deadline)) {
			t.Errorf("child %d alive %v after its parent was killed", cpid, margin)
			syscall.Kill(-cpid, syscall.SIGKILL)
		}
		if !awaitExit(t, gc, time.Second) {
			left++
			stat, _ := os.ReadFile("/proc/" + itoa(gc) + "/stat")
			t.Logf("grandchild %d of child %d (seen before the kill: %v) alive: %s", gc, cpid, children[cpid], stat)
			syscall.Kill(gc, syscall.SIGKILL)
		}
	}
	t.Logf("%d children seen, %d grandchildren started, %d left alive", len(children), len(ents), left)
	if left > 0 {
		t.Errorf("%d of %d grandchildren alive after their parent and child died", left, len(ents))
	}
}
