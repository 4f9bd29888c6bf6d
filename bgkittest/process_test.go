//go:build linux

package bgkittest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func findProcess(t *testing.T, groups map[int]string, pid int) (process, bool) {
	t.Helper()
	procs, err := ownedProcesses(os.Getpid(), groups)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(procs, func(p process) bool { return p.pid == pid })
	if i < 0 {
		return process{}, false
	}
	return procs[i], true
}

func TestOwnedProcessesChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Process.Kill()

	p, ok := findProcess(t, nil, pid)
	if !ok {
		t.Fatalf("child %d not found", pid)
	}
	// Found while it still execs, it has no command line yet (its name
	// shows as [sleep]): look again until it has one.
	for deadline := time.Now().Add(5 * time.Second); p.cmdline == "[sleep]" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		p, _ = findProcess(t, nil, pid)
	}
	if p.ppid != os.Getpid() || p.pgrp != syscall.Getpgrp() || p.cmdline != "sleep 30" {
		t.Errorf("found %v; want parent %d, group %d, command sleep 30", p, os.Getpid(), syscall.Getpgrp())
	}
	if awaitExit(pid, 0) {
		t.Error("awaitExit reports a running child as exited")
	}
	p.kill()
	if !awaitExit(pid, 10*time.Second) {
		t.Fatal("awaitExit: the killed child did not exit")
	}
	if _, ok := findProcess(t, nil, pid); ok {
		t.Error("a dead child (a zombie until it is waited for) is reported")
	}
	_ = cmd.Wait()
	if !awaitExit(pid, 0) {
		t.Error("awaitExit reports a reaped child as running")
	}
}

func TestOwnedProcessesGroup(t *testing.T) {
	// sh leads a group of its own and forks a sleep into it.
	cmd := exec.Command("sh", "-c", "sleep 30 & echo $!; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var grandchild int
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	for _, c := range buf[:n] {
		if c >= '0' && c <= '9' {
			grandchild = grandchild*10 + int(c-'0')
		}
	}
	if _, ok := findProcess(t, nil, grandchild); ok {
		t.Errorf("grandchild %d reported without its group", grandchild)
	}
	// sh prints the pid once it has forked, maybe before the fork has
	// run sleep: until then the grandchild is a copy of sh. Wait for the
	// exec (there is no event to wait on), then check the report.
	want := "sleep 30 (in the process group of SHELL_SERVICE)"
	var g process
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var ok bool
		g, ok = findProcess(t, map[int]string{cmd.Process.Pid: "SHELL_SERVICE"}, grandchild)
		if !ok {
			t.Fatalf("grandchild %d in group %d not found", grandchild, cmd.Process.Pid)
		}
		if strings.HasSuffix(g.String(), want) || time.Now().After(deadline) {
			break
		}
	}
	if !strings.HasSuffix(g.String(), want) {
		t.Errorf("grandchild reported as %q, want it to end in %q", g, want)
	}
	leader, ok := findProcess(t, nil, cmd.Process.Pid)
	if !ok {
		t.Fatal("group leader not found")
	}
	leader.kill() // the whole group
	if !awaitExit(g.pid, 10*time.Second) {
		t.Error("killing the group leader's process did not kill the group")
	}
}

func TestReadStat(t *testing.T) {
	p, state, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.pid != os.Getpid() || p.ppid != os.Getppid() || p.pgrp != syscall.Getpgrp() || state == 'Z' {
		t.Errorf("readStat(self) = %+v, state %c", p, state)
	}
	if _, _, err := readStat(-1); err == nil {
		t.Error("readStat of no process: no error")
	}
}
