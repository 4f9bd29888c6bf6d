package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/internal/proctest"
	"github.com/bgkit/bgkit/spawn"
)

// Tests of the tree kill (a child is the subreaper of its descendants,
// which die with it; spawn/tree_linux.go): descendants that fork while
// they are killed, deep chains of sessions, stopped ones, a parent killed
// with SIGKILL, and what must be left alone: the orphans the child adopts
// are reaped, its own commands keep their exit status, and processes not
// descended from the child live on.

// ReviewTreeArgs are reviewTreeService's (none).
type ReviewTreeArgs struct{}

// reviewTreeService starts descendants on request and returns their pids.
type reviewTreeService struct{}

func newReviewTreeService(ReviewTreeArgs) (*reviewTreeService, error) {
	return &reviewTreeService{}, nil
}

func (*reviewTreeService) Initialize(context.Context) error { return nil }
func (*reviewTreeService) Shutdown(context.Context) error   { return nil }

// Orphan starts a short-lived process as `sh -c 'cmd &'` does: its parent,
// the shell, exits at once, so the child adopts it; it exits 100 ms later.
func (*reviewTreeService) Orphan(ctx context.Context) (int, error) {
	out, err := exec.Command("sh", "-c", "sleep 0.1 </dev/null >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// OwnExits runs n commands that exit 7 while orphans it adopted die
// around them, and returns how many did not report exit status 7.
func (*reviewTreeService) OwnExits(ctx context.Context, n int) (int, error) {
	bad := 0
	for range n {
		if err := exec.Command("sh", "-c", "true </dev/null >/dev/null 2>&1 & exit 7").Run(); err == nil {
			bad++
		} else if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 7 {
			bad++
		}
	}
	return bad, nil
}

// ForkLoop starts a shell in a session of its own that forks sleeps for
// as long as it lives (n of them at most), and returns its pid: the
// session's id.
func (*reviewTreeService) ForkLoop(ctx context.Context, n int) (int, error) {
	return startSession(fmt.Sprintf(`i=0; while [ $i -lt %d ]; do sleep 300 & i=$((i+1)); done; wait`, n))
}

// Hopper starts a process in a session of its own that forks and exits
// over and over for hopFor, pausing pauseUS µs at each hop, then sleeps,
// and returns its first pid: the session's id.
func (*reviewTreeService) Hopper(ctx context.Context, pauseUS int) (int, error) {
	return startSession(fmt.Sprintf(`exec perl -MTime::HiRes=time -e 'my $end = time() + %g; `+
		`while (time() < $end) { exit 0 if fork(); select(undef, undef, undef, %g) if %d } sleep 300'`,
		hopFor.Seconds(), float64(pauseUS)/1e6, pauseUS))
}

// hopFor is how long Hopper hops.
const hopFor = 400 * time.Millisecond

// Threads starts n threads that sleep for the rest of the process (a
// service's threads blocked in system calls).
func (*reviewTreeService) Threads(ctx context.Context, n int) error {
	started := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			for {
				_ = unix.Nanosleep(&unix.Timespec{Sec: 3600}, nil)
			}
		}()
	}
	for range n {
		<-started
	}
	return nil
}

// Chain starts a chain of depth processes, each in a session of its own
// and the child of the one before, and returns their pids, the first first.
func (*reviewTreeService) Chain(ctx context.Context, depth int) ([]int, error) {
	f, err := os.CreateTemp("", "bgkit-chain")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	const script = `echo $$ >> "$2"; if [ "$1" -gt 1 ]; then setsid sh -c "$S" sh $(($1-1)) "$2" </dev/null >/dev/null 2>&1 & wait; else exec sleep 300; fi`
	cmd := exec.Command("setsid", "sh", "-c", script, "sh", strconv.Itoa(depth), f.Name())
	cmd.Env = append(os.Environ(), "S="+script)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		data, _ := os.ReadFile(f.Name())
		if fields := strings.Fields(string(data)); len(fields) >= depth {
			var pids []int
			for _, s := range fields {
				pid, _ := strconv.Atoi(s)
				pids = append(pids, pid)
			}
			return pids, nil
		}
	}
	return nil, errors.New("chain not built in 10 s")
}

// Stopped starts a sleep in a session of its own, stops it (SIGSTOP) and
// returns its pid.
func (*reviewTreeService) Stopped(ctx context.Context) (int, error) {
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	pid := cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(5 * time.Second); procState(pid) != 'T'; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d not stopped: state %c", pid, procState(pid))
		}
	}
	return pid, nil
}

// Escaped starts a sleep in a session of its own, its output to
// /dev/null, and returns its pid.
func (*reviewTreeService) Escaped(ctx context.Context, _ int) (int, error) {
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

// startSession runs script in sh in a session of its own, outputs to
// /dev/null, and returns the shell's pid.
func startSession(script string) (int, error) {
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

const reviewParentEnv = "BGKIT_TEST_REVIEW_TREE_PARENT"

func init() {
	spawn.Register(newReviewTreeService)
	if what := os.Getenv(reviewParentEnv); what != "" && !spawn.IsChild() {
		spawn.Main()
		reviewParent(what)
	}
}

// reviewParent spawns a reviewTreeService, has it start what (a method
// that returns a session id), prints READY <child pid> <session id> and
// waits to be killed.
func reviewParent(what string) {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil {
		var h *spawn.Handle
		h, err = spawn.Run(ctx, b, newReviewTreeService, ReviewTreeArgs{}, spawn.WithName("REVIEW_PARENTED"),
			spawn.WithLogger(slog.New(slog.DiscardHandler)))
		if err == nil {
			var c *controller.Controller
			if c, err = controller.Connect(ctx, b, "REVIEW_PARENTED"); err == nil {
				arg := 2000 // sleeps of the fork loop
				if what == "hopper" {
					arg = 500 // µs between hops
				}
				var sid int
				if err = c.Call(ctx, "threads", 300, nil); err == nil {
					err = c.Call(ctx, what, arg, &sid)
				}
				if err == nil {
					fmt.Println("READY", h.PID(), sid)
					select {}
				}
			}
		}
	}
	fmt.Println("ERR", err)
	os.Exit(1)
}

func procState(pid int) byte {
	if f := proctest.Stat(pid); len(f) > 0 {
		return f[0][0]
	}
	return 0
}

// awaitCount polls until at least n processes of session sid run.
func awaitCount(t *testing.T, sid, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(proctest.SessionAlive(sid)) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("session %d has %d processes, want %d", sid, len(proctest.SessionAlive(sid)), n)
		}
	}
}

// awaitForking polls until session sid's fork loop has forked 200
// sleeps (and forks on), or its hopper has hopped.
func awaitForking(t *testing.T, what string, sid int) {
	t.Helper()
	if what == "fork_loop" {
		awaitCount(t, sid, 200)
		return
	}
	for deadline := time.Now().Add(10 * time.Second); !zombieOrGone(sid); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hopper %d did not hop", sid)
		}
	}
}

// settled waits, for a hopper started at began, until its hops are over:
// one that escaped then sleeps, where a scan finds it.
func settled(what string, began time.Time) {
	if what == "hopper" {
		for time.Since(began) < hopFor+100*time.Millisecond {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// reviewSpawn spawns a reviewTreeService called name and connects to it.
func reviewSpawn(t *testing.T, b *bus.Bus, name string, opts ...spawn.Option) (*spawn.Handle, *controller.Controller) {
	t.Helper()
	ctx := context.Background()
	opts = append([]spawn.Option{spawn.WithName(name), spawn.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	h, err := spawn.Run(ctx, b, newReviewTreeService, ReviewTreeArgs{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Terminate(ctx)
		syscall.Kill(-h.PID(), syscall.SIGKILL)
	})
	c, err := controller.Connect(ctx, b, name)
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

// TestTreeReapsAdoptedOrphans: the child is the reaper of its
// orphaned descendants, so it must reap them; init used to. A service
// that runs `cmd &` in a shell, over and over, otherwise piles up
// zombies (a pid each) for as long as it runs.
func TestTreeReapsAdoptedOrphans(t *testing.T) {
	b := bgkittest.Bus(t)
	h, c := reviewSpawn(t, b, "REVIEW_REAP")
	var pids []int
	for range 5 {
		var pid int
		if err := c.Call(context.Background(), "orphan", nil, &pid); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		if f := proctest.Stat(pid); f != nil {
			t.Logf("orphan %d: state %s, parent %s (the child is %d)", pid, f[0], f[1], h.PID())
		}
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		deadline := time.Now().Add(5 * time.Second)
		for proctest.Stat(pid) != nil && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if f := proctest.Stat(pid); f != nil {
			t.Errorf("orphan %d still in the process table 5 s after it exited: state %s, parent %s (the child is %d)",
				pid, f[0], f[1], h.PID())
		}
	}
}

// TestTreeOwnChildrenKeepTheirExitStatus: whatever reaps the
// adopted orphans must leave the service's own commands to os/exec:
// their exit status is theirs, not ECHILD.
func TestTreeOwnChildrenKeepTheirExitStatus(t *testing.T) {
	b := bgkittest.Bus(t)
	_, c := reviewSpawn(t, b, "REVIEW_OWN")
	var bad int
	if err := c.Call(context.Background(), "own_exits", 200, &bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d of 200 commands did not report their exit status 7", bad)
	}
}

// TestTreeKillsWhatForks: descendants in a session of their own
// that fork while they are killed — a shell forking sleeps, a process
// that forks and exits over and over — are all dead once Terminate
// returns, on a graceful stop and on a Terminate whose ctx ends (the
// parent's kill), from a service with 300 threads (a list of children
// read task by task).
func TestTreeKillsWhatForks(t *testing.T) {
	for _, tc := range []struct {
		what string
		arg  int
	}{{"fork_loop", 4000}, {"hopper", 500}, {"hopper", 0}} {
		for _, stop := range []string{"graceful", "ctx ends"} {
			t.Run(fmt.Sprintf("%s %d, %s", tc.what, tc.arg, stop), func(t *testing.T) {
				b := bgkittest.Bus(t)
				h, c := reviewSpawn(t, b, "REVIEW_FORKS")
				if err := c.Call(context.Background(), "threads", 300, nil); err != nil {
					t.Fatal(err)
				}
				var sid int
				if err := c.Call(context.Background(), tc.what, tc.arg, &sid); err != nil {
					t.Fatal(err)
				}
				began := time.Now()
				t.Cleanup(func() { proctest.KillSession(sid) })
				awaitForking(t, tc.what, sid)
				ctx := context.Background()
				if stop == "ctx ends" {
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					ctx = cctx
				}
				_ = h.Terminate(ctx)
				<-h.Done()
				settled(tc.what, began)
				if alive := proctest.SessionAlive(sid); len(alive) > 0 {
					t.Errorf("%d processes of the service's session %d alive after Terminate: %v", len(alive), sid, head(alive))
				}
			})
		}
	}
}

func head(pids []int) []int { return pids[:min(len(pids), 5)] }

// TestTreeDeepChain: a chain of 60 processes, each in a session of
// its own, dies with the service.
func TestTreeDeepChain(t *testing.T) {
	b := bgkittest.Bus(t)
	h, c := reviewSpawn(t, b, "REVIEW_CHAIN", spawn.WithGrace(300*time.Millisecond))
	var pids []int
	if err := c.Call(context.Background(), "chain", 60, &pids); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	}
	_ = h.Terminate(context.Background())
	for i, pid := range pids {
		if !zombieOrGone(pid) {
			t.Errorf("link %d (pid %d) of the chain alive after Terminate", i, pid)
		}
	}
}

// TestTreeStopped: a stopped descendant (SIGSTOP) dies too.
func TestTreeStopped(t *testing.T) {
	b := bgkittest.Bus(t)
	h, c := reviewSpawn(t, b, "REVIEW_STOPPED")
	var pid int
	if err := c.Call(context.Background(), "stopped", nil, &pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	_ = h.Terminate(context.Background())
	if !zombieOrGone(pid) {
		t.Errorf("stopped descendant %d alive after Terminate (state %c)", pid, procState(pid))
	}
}

// TestTreeSparesOthers: what is not descended from the child lives
// on: another service's escaped descendant, this process's own child in a
// session of its own.
func TestTreeSparesOthers(t *testing.T) {
	b := bgkittest.Bus(t)
	h1, c1 := reviewSpawn(t, b, "REVIEW_DOOMED")
	_, c2 := reviewSpawn(t, b, "REVIEW_SPARED")
	var doomed, spared int
	if err := c1.Call(context.Background(), "stopped", nil, &doomed); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(doomed, syscall.SIGKILL) })
	if err := c2.Call(context.Background(), "stopped", nil, &spared); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(spared, syscall.SIGKILL) })
	own := exec.Command("sleep", "300")
	own.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := own.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { own.Process.Kill(); own.Wait() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the kill path: the parent walks the child's tree
	_ = h1.Terminate(ctx)
	<-h1.Done()
	if !zombieOrGone(doomed) {
		t.Errorf("the terminated service's descendant %d alive", doomed)
	}
	if zombieOrGone(spared) {
		t.Errorf("another service's descendant %d was killed", spared)
	}
	if zombieOrGone(own.Process.Pid) {
		t.Errorf("the parent's own child %d was killed", own.Process.Pid)
	}
}

// TestTreeParentKilled: a parent killed with SIGKILL while its
// child's descendant forks (in a session of its own): the child and every
// process of that session die within a moment (the child's lifeline
// budget is 300 ms).
func TestTreeParentKilled(t *testing.T) {
	for _, what := range []string{"fork_loop", "hopper"} {
		t.Run(what, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), reviewParentEnv+"="+what)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			sc := bufio.NewScanner(out)
			var child, sid int
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
					child, _ = strconv.Atoi(f[1])
					sid, _ = strconv.Atoi(f[2])
					break
				}
				t.Log(sc.Text())
			}
			if child == 0 {
				t.Fatal("the parent did not get ready")
			}
			began := time.Now()
			t.Cleanup(func() {
				syscall.Kill(-child, syscall.SIGKILL)
				syscall.Kill(child, syscall.SIGKILL)
				proctest.KillSession(sid)
			})
			awaitForking(t, what, sid)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if !awaitExit(t, child, 3*time.Second) {
				t.Errorf("child %d alive 3 s after its parent was killed", child)
			}
			// The session's processes are killed before the child exits;
			// a moment for the last of them to die.
			deadline := time.Now().Add(time.Second)
			for len(proctest.SessionAlive(sid)) > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			settled(what, began)
			if alive := proctest.SessionAlive(sid); len(alive) > 0 {
				t.Errorf("%d processes of the child's descendant session %d alive after the child died: %v",
					len(alive), sid, head(alive))
			}
		})
	}
}

// holdAtExit makes a thread of this process the tracer of pid, stopping
// it at its exit (PTRACE_O_TRACEEXIT): killed, it stays there, not dead
// (state t), as a process in uninterruptible sleep does, until the
// returned func lets it go (killed: it dies).
func holdAtExit(t *testing.T, pid int) (release func()) {
	t.Helper()
	seized, done, ended := make(chan error, 1), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, unix.PTRACE_O_TRACEEXIT, 0, 0)
		if errno != 0 {
			seized <- errno
			return
		}
		seized <- nil
		<-done
		// Let go: kill it (it may not have been yet), take its stop at
		// its exit and detach; the thread's own exit would not do on the
		// main thread, which Go never ends.
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
		_ = unix.PtraceDetach(pid)
	}()
	if err := <-seized; err != nil {
		t.Skipf("ptrace: %v", err)
	}
	var once bool
	release = func() {
		if !once {
			once = true
			close(done)
			<-ended
		}
	}
	t.Cleanup(release)
	return release
}

// TestTreeKillNotHeldBack: when ctx ends, Terminate SIGKILLs the
// child's group at once, even if a descendant that left it does not die
// of its SIGKILL (held at its exit here, as one in uninterruptible sleep
// would be): the wait for that death comes after the group's kill, not
// before it.
func TestTreeKillNotHeldBack(t *testing.T) {
	b := bgkittest.Bus(t)
	h, c := reviewSpawn(t, b, "REVIEW_HELD", spawn.WithGrace(5*time.Second))
	var held int
	if err := c.Call(context.Background(), "escaped", 0, &held); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(held, syscall.SIGKILL) })
	release := holdAtExit(t, held)
	child, err := unix.PidfdOpen(h.PID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(child)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	terminated := make(chan time.Duration, 1)
	go func() {
		_ = h.Terminate(ctx)
		terminated <- time.Since(began)
	}()
	fds := []unix.PollFd{{Fd: int32(child), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 5000)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("the child did not die in 5 s: %v", err)
		}
		break
	}
	died := time.Since(began)
	took := <-terminated
	t.Logf("the child died %v after Terminate's ctx ended; Terminate returned after %v; the held descendant: state %c",
		died.Round(time.Millisecond), took.Round(time.Millisecond), procState(held))
	if died > 100*time.Millisecond {
		t.Errorf("the child's group was SIGKILLed %v after Terminate's ctx ended: held back by a descendant that does not die", died.Round(time.Millisecond))
	}
	release()
	if !awaitExit(t, held, 5*time.Second) {
		t.Errorf("the held descendant %d did not die once let go", held)
	}
}

// TestTreeLifelineHeld: a parent killed with SIGKILL, its child's
// descendant outside the group held at its exit (it does not die of its
// SIGKILL): the child still dies within its lifeline budget (300 ms, and
// a margin for a loaded machine). The child waits for the deaths it
// caused (treeKillWait, 200 ms) before it kills its group and itself.
func TestTreeLifelineHeld(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), reviewParentEnv+"=escaped")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	var child, held int
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
			child, _ = strconv.Atoi(f[1])
			held, _ = strconv.Atoi(f[2])
			break
		}
		t.Log(sc.Text())
	}
	if child == 0 {
		t.Fatal("the parent did not get ready")
	}
	t.Cleanup(func() {
		syscall.Kill(-child, syscall.SIGKILL)
		syscall.Kill(child, syscall.SIGKILL)
		syscall.Kill(held, syscall.SIGKILL)
	})
	holdAtExit(t, held)
	began := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !awaitExit(t, child, 3*time.Second) {
		t.Fatalf("child %d alive 3 s after its parent was killed", child)
	}
	died := time.Since(began)
	t.Logf("the child died %v after its parent; the held descendant: state %c", died.Round(time.Millisecond), procState(held))
	if died > 300*time.Millisecond+200*time.Millisecond {
		t.Errorf("the child died %v after its parent, past its lifeline budget", died.Round(time.Millisecond))
	}
}

// TestTreeGracefulHeldSmallGrace: a service that honours ctx is
// never killed, but its child waits up to 200 ms (treeKillWait) for a
// descendant's death before it exits; a descendant that does not die
// then makes a grace period shorter than that end in a SIGKILL ("killed
// by SIGKILL after the grace period"). Open: the child's wait would have
// to end with what is left of its budget (child.exit knows it;
// killDescendants does not).
func TestTreeGracefulHeldSmallGrace(t *testing.T) {
	b := bgkittest.Bus(t)
	h, c := reviewSpawn(t, b, "REVIEW_HELD_GRACE", spawn.WithGrace(150*time.Millisecond))
	var held int
	if err := c.Call(context.Background(), "escaped", 0, &held); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(held, syscall.SIGKILL) })
	holdAtExit(t, held)
	began := time.Now()
	err := h.Terminate(context.Background())
	t.Logf("Terminate after %v: %v", time.Since(began).Round(time.Millisecond), err)
	if err != nil {
		t.Errorf("Terminate of a service that honours ctx: %v", err)
	}
}
