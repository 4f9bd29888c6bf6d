package spawn

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// A service's descendants can leave its process group: a tool started in
// a session of its own (setsid), a daemon whose parent exits at once
// (double fork), which the kernel then hands to init. The group kill
// misses both. A child is therefore the reaper of its orphaned descendants
// (PR_SET_CHILD_SUBREAPER), so that they stay in its tree, and the tree
// is killed where the group is: by the child as it exits, and by the
// parent before it SIGKILLs the group.

// becomeSubreaper makes this process the parent of its orphaned
// descendants.
func becomeSubreaper() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// hasChildren reports whether this process has a child, running or not
// (one system call: waitid's ECHILD when it has none).
func hasChildren() bool {
	var info unix.Siginfo
	return unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil) != unix.ECHILD
}

// killDescendants SIGKILLs every running descendant of pid (not pid), and
// waits a moment (treeKillWait at most) for them to die. Rounds repeat
// while some are found: one forked during a round is orphaned by its
// parent's death and, pid being its reaper, found in the next.
func killDescendants(pid int) {
	var killed []int
	for range 8 {
		found := descendants(pid, nil)
		if len(found) == 0 {
			break
		}
		for _, d := range found {
			_ = unix.Kill(d, unix.SIGKILL)
		}
		killed = append(killed, found...)
	}
	deadline := time.Now().Add(treeKillWait)
	for _, d := range killed {
		for running(d) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// treeKillWait bounds killDescendants' wait for the deaths it caused.
const treeKillWait = 200 * time.Millisecond

// descendants appends pid's running descendants to out, depth first.
func descendants(pid int, out []int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range bytes.Fields(data) {
			c, err := strconv.Atoi(string(field))
			if err != nil || !running(c) {
				continue
			}
			out = append(descendants(c, out), c)
		}
	}
	return out
}

// running reports whether pid exists and has not exited (a zombie has).
func running(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')') // the name may hold anything
	if i < 0 || i+2 >= len(data) {
		return false
	}
	state := data[i+2]
	return state != 'Z' && state != 'X'
}
