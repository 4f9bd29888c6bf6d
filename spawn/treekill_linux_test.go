//go:build linux

package spawn

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bgkit/bgkit/internal/proctest"
)

// Tests of the tree kill (tree_linux.go), on trees this test builds
// under a root process of its own, so that nothing else is at risk.

func skipUnlessProc(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/children"); err != nil {
		t.Skip("kernel without /proc/PID/task/*/children")
	}
}

// TestRunningOddNames: the state is read after the last ')' of
// /proc/PID/stat, so a name holding ')', spaces or a state letter does
// not fool running; a stopped process runs, a zombie does not.
func TestRunningOddNames(t *testing.T) {
	skipUnlessProc(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	for _, name := range []string{"a) Z (b", ") X )", "x y) Z 1 2 3", "(((", "Z)"} {
		t.Run(name, func(t *testing.T) {
			link := filepath.Join(t.TempDir(), name)
			if err := os.Symlink(sleep, link); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(link, "300")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			// exec'd: its name is the link's (up to 15 bytes)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
				if strings.TrimSuffix(string(comm), "\n") == name[:min(len(name), 15)] {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("name %q, want %q", comm, name)
				}
			}
			if !running(pid) {
				t.Errorf("running(%d) false for a sleeping process named %q", pid, name)
			}
			_ = syscall.Kill(pid, syscall.SIGSTOP)
			if !running(pid) {
				t.Errorf("running(%d) false for a stopped process named %q", pid, name)
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
			// A zombie until reaped: this process does not wait yet.
			for deadline := time.Now().Add(5 * time.Second); running(pid); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("running(%d) still true 5 s after SIGKILL (state %v)", pid, proctest.Stat(pid))
				}
			}
			if f := proctest.Stat(pid); len(f) == 0 || f[0] != "Z" {
				t.Errorf("want a zombie, got %v", f)
			}
		})
	}
}

// treeRootEnv makes the test binary a root of trees: see treeRoot.
const treeRootEnv = "BGKIT_TEST_TREE_ROOT"

func init() {
	if spec := os.Getenv(treeRootEnv); spec != "" {
		treeRoot(spec)
	}
}

// treeRoot is what a child is to the tree kill: the reaper of its
// orphaned descendants, which it reaps as they exit, with threads of its
// own (a Go service's, blocked in system calls). spec is "THREADS SCRIPT":
// it starts that many threads, runs the script (sh) in a session of its
// own, prints the shell's pid and waits to be killed.
func treeRoot(spec string) {
	n, script, _ := strings.Cut(spec, " ")
	threads, _ := strconv.Atoi(n)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	started := make(chan struct{})
	for range threads {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			for {
				_ = unix.Nanosleep(&unix.Timespec{Sec: 3600}, nil)
			}
		}()
	}
	for range threads {
		<-started
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println(cmd.Process.Pid)
	for range sigs {
		for {
			var ws unix.WaitStatus
			if pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}

// subreaperRoot starts a treeRoot with threads threads that runs
// script, and returns its pid and the script's session.
func subreaperRoot(t *testing.T, threads int, script string) (root, sid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), treeRootEnv+"="+strconv.Itoa(threads)+" "+script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	root = cmd.Process.Pid
	line, err := bufio.NewReader(out).ReadString('\n')
	sid, _ = strconv.Atoi(strings.TrimSpace(line))
	if err != nil || sid == 0 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("root: %q %v", line, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-sid, syscall.SIGKILL)
		proctest.KillSession(sid)
		killTree(root)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return root, sid
}

// liveTree lists pid's running descendants (read here, not with the
// code under test).
func liveTree(pid int) []int {
	var live []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			c, _ := strconv.Atoi(field)
			if st := proctest.Stat(c); len(st) > 0 && st[0] != "Z" && st[0] != "X" {
				live = append(live, c)
			}
			live = append(live, liveTree(c)...)
		}
	}
	return live
}

// killTree kills pid's descendants (by this test's own walk), once they
// stopped hopping.
func killTree(pid int) {
	for range 100 {
		live := liveTree(pid)
		if len(live) == 0 {
			return
		}
		for _, d := range live {
			_ = syscall.Kill(d, syscall.SIGKILL)
		}
	}
}

// TestKillDescendantsHopper: descendants that fork and exit over
// and over (a new pid every 2 ms, each orphaned to the root
// as its parent exits), staying in their group or taking a session of
// their own at each hop, are dead once killDescendants returns. A walk
// that finds no running descendant does not prove the tree empty: a
// child seen in the root's list that exits before it is looked at has
// handed its own child to the root after the list was read. The hoppers
// hop for hopFor, then sleep: one that escaped is then found.
func TestKillDescendantsHopper(t *testing.T) {
	skipUnlessProc(t)
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip(err)
	}
	// A root with threads (a Go service's): its list of children takes
	// a while to read, task by task.
	const hoppers, trials, rootThreads = 4, 10, 300
	const hopFor = 80 * time.Millisecond
	for _, tc := range []struct{ name, hop string }{
		{"in their group", ""},
		{"a session each hop", "POSIX::setsid(); "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			escaped := 0
			for i := range trials {
				hopper := fmt.Sprintf(`exec perl -MPOSIX -MTime::HiRes=time -e 'my $end = time() + %g; `+
					`while (time() < $end) { exit 0 if fork(); %sselect(undef, undef, undef, 0.002) } sleep 300'`,
					hopFor.Seconds(), tc.hop)
				script := strings.Repeat(hopper+" & ", hoppers) + "wait"
				root, _ := subreaperRoot(t, rootThreads, script)
				began := time.Now() // the script starts as the root says its pid
				// At a different moment of the hops in each trial.
				for time.Since(began) < 5*time.Millisecond+hopFor*time.Duration(i%4)/8 {
					time.Sleep(time.Millisecond)
				}
				killDescendants(root, treeKillWait)
				if !running(root) {
					t.Fatalf("trial %d: killDescendants(%d) killed the root itself", i, root)
				}
				// An escaped hopper settles (sleeps) once its hops are over.
				for time.Since(began) < hopFor+50*time.Millisecond {
					time.Sleep(5 * time.Millisecond)
				}
				if live := liveTree(root); len(live) > 0 {
					escaped++
					t.Logf("trial %d: %d hoppers escaped: %v", i, len(live), live)
				}
				killTree(root)
			}
			if escaped > 0 {
				t.Errorf("hoppers outlived killDescendants in %d of %d trials", escaped, trials)
			}
		})
	}
}

// TestKillDescendantsSparesOthers: killDescendants(root) kills
// neither root, nor root's siblings, nor this process. (The root leads
// no process group here: the group kill killDescendants does for a child
// of this process finds none.)
func TestKillDescendantsSparesOthers(t *testing.T) {
	skipUnlessProc(t)
	root, sid := subreaperRoot(t, 0, `sleep 300 & sleep 300 & wait`)
	sibling := exec.Command("sleep", "300")
	sibling.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := sibling.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sibling.Process.Kill(); _ = sibling.Wait() })
	for deadline := time.Now().Add(5 * time.Second); len(proctest.SessionAlive(sid)) < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("session %d: %v", sid, proctest.SessionAlive(sid))
		}
	}
	killDescendants(root, treeKillWait)
	if live := proctest.SessionAlive(sid); len(live) > 0 {
		t.Errorf("root's descendants %v alive", live)
	}
	if !running(root) {
		t.Error("the root was killed")
	}
	if !running(sibling.Process.Pid) {
		t.Error("the root's sibling was killed")
	}
}
