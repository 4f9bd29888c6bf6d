package spawn

import (
	"bytes"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
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
// descendants, and reaps them as they exit (reapAdopted). Only where Go's
// os package holds a pidfd for each process it starts (Linux 5.4 on): the
// pidfds tell the adopted orphans from the service's own children, which
// are its to wait for. Elsewhere orphans go to init, as before.
func becomeSubreaper() {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return
	}
	_ = unix.Close(fd)
	if unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		for range ch {
			reapAdopted()
		}
	}()
}

// reapAdopted reaps the exited children of this process that no
// os.Process holds: orphans it adopted as their subreaper, which would
// otherwise stay zombies as long as it runs (a service that starts a
// shell's background job now and then). A child the service started
// (os/exec) has a pidfd open in this process from its fork until Wait,
// and is left to its Wait. A child forked by raw system calls
// (syscall.ForkExec) holds no pidfd and is reaped here: wait for it
// before it exits, or use os/exec.
func reapAdopted() {
	self := os.Getpid()
	var exited []int
	for _, c := range childrenOf(self) {
		if !running(c) {
			exited = append(exited, c)
		}
	}
	if len(exited) == 0 {
		return
	}
	held := pidfdPIDs()
	for _, c := range exited {
		if !held[c] {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(c, &ws, unix.WNOHANG, nil)
		}
	}
}

// pidfdPIDs are the processes this process holds a pidfd for
// (/proc/self/fdinfo's Pid line).
func pidfdPIDs() map[int]bool {
	held := map[int]bool{}
	infos, _ := filepath.Glob("/proc/self/fdinfo/*")
	for _, f := range infos {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		_, rest, ok := bytes.Cut(data, []byte("\nPid:\t"))
		if !ok {
			continue
		}
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		if pid, err := strconv.Atoi(string(line)); err == nil {
			held[pid] = true
		}
	}
	return held
}

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
	for _, c := range childrenOf(pid) {
		if running(c) {
			out = append(descendants(c, out), c)
		}
	}
	return out
}

// childrenOf lists pid's children, exited ones included
// (/proc/PID/task/*/children).
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range bytes.Fields(data) {
			if c, err := strconv.Atoi(string(field)); err == nil {
				out = append(out, c)
			}
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

// pipeInode is the inode of pipe f (its /proc fd links read pipe:[N]),
// 0 if f is not one. (Stat, not Fd: Fd would put f in blocking mode.)
func pipeInode(f *os.File) uint64 {
	if f == nil {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// killPipeHolders SIGKILLs the processes other than this one that hold
// one of the pipes inodes (0 entries are passed over), and returns their
// pids. After a child's exit, only what it started can hold its output
// pipes (this process's descriptors are close-on-exec for its other
// children): a descendant that left the child's group and outlived it —
// the child ended by itself (a crash, os.Exit), so it killed no tree.
func killPipeHolders(inodes ...uint64) []int {
	want := map[string]bool{}
	for _, ino := range inodes {
		if ino != 0 {
			want["pipe:["+strconv.FormatUint(ino, 10)+"]"] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	self := os.Getpid()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var killed []int
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || pid == self {
			continue
		}
		fds, _ := os.ReadDir(dir + "/fd")
		for _, fd := range fds {
			if target, err := os.Readlink(dir + "/fd/" + fd.Name()); err == nil && want[target] {
				_ = unix.Kill(pid, unix.SIGKILL)
				killed = append(killed, pid)
				break
			}
		}
	}
	return killed
}
