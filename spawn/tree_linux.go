package spawn

import (
	"bytes"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
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
// waits a moment (wait, at most treeKillWait, the walks included; one walk
// always runs) for them to die. Each is killed before its children are read, so that it forks no
// more while they are; the walks repeat until one sees nothing new: a
// descendant that exits hands its children to pid (their reaper) only as
// it becomes a zombie, after pid's list may have been read, and a walk
// that finds no running descendant proves nothing until it has also seen
// every exit. A descendant in a session of its own (setsid), or in a
// group whose leader is a descendant, takes its whole process group with
// it, at once: every process there descends from pid, and one that forks
// and exits over and over to change its pid stays in its group.
//
// Called by the parent for its child (pid is not this process), it also
// SIGKILLs pid's group, the parent's next step, before the wait: a
// descendant slow to die (traced, in uninterruptible sleep, a large
// address space to free) does not hold back the group's kill at the end
// of the grace period.
func killDescendants(pid int, wait time.Duration) {
	deadline := time.Now().Add(min(wait, treeKillWait))
	k := &treeKill{killed: map[int]bool{}, exited: map[int]bool{}, groups: map[int]bool{}}
	if st, ok := readStat(pid); ok {
		k.session = st.session
	}
	for k.walk(pid) && time.Now().Before(deadline) {
	}
	if pid != os.Getpid() {
		killGroup(pid)
	}
	for d := range k.killed {
		for running(d) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// treeKill is one killDescendants.
type treeKill struct {
	session int          // the root's session (0: unknown)
	killed  map[int]bool // descendants seen running, and SIGKILLed
	exited  map[int]bool // descendants seen exited
	groups  map[int]bool // process groups SIGKILLed
}

// walk SIGKILLs the running descendants of pid, each before it reads its
// children, and reports whether it saw anything it had not: a process to
// kill, or an exit (whose children may have moved to the root since its
// list was read).
func (k *treeKill) walk(pid int) (changed bool) {
	for _, c := range childrenOf(pid) {
		st, ok := readStat(c)
		if ok && st.running() && !k.killed[c] {
			_ = unix.Kill(c, unix.SIGKILL)
			k.killed[c] = true
			changed = true
		}
		// The group is the tree's if its session is another than the
		// root's (a session's processes all descend from its leader, who
		// left the root's by setsid), or its leader is a descendant. A
		// zombie not yet reaped still names it.
		if ok && st.pgrp > 0 && !k.groups[st.pgrp] && (k.session != 0 && st.session != k.session || k.killed[st.pgrp]) {
			_ = unix.Kill(-st.pgrp, unix.SIGKILL)
			k.groups[st.pgrp] = true
		}
		if !ok || !st.running() {
			if !k.exited[c] {
				k.exited[c] = true
				changed = true
			}
			continue
		}
		if k.walk(c) {
			changed = true
		}
	}
	return changed
}

// procStat is what killDescendants reads of /proc/PID/stat.
type procStat struct {
	state         byte
	pgrp, session int
}

func (st procStat) running() bool { return st.state != 'Z' && st.state != 'X' }

// readStat reads pid's state, process group and session; false if pid
// is gone.
func readStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(data, ')') // the name may hold anything
	if i < 0 {
		return procStat{}, false
	}
	// state ppid pgrp session …
	f := bytes.Fields(data[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return procStat{}, false
	}
	pgrp, _ := strconv.Atoi(string(f[2]))
	session, _ := strconv.Atoi(string(f[3]))
	return procStat{state: f[0][0], pgrp: pgrp, session: session}, true
}

// childrenOf lists pid's children, exited ones included
// (/proc/PID/task/*/children). The leader's list is read last: orphans
// are handed to it (their reaper's first live thread), and a process of
// many threads takes a while to read.
func childrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	tasks, _ := d.Readdirnames(-1)
	_ = d.Close()
	leader := strconv.Itoa(pid)
	if i := slices.Index(tasks, leader); i >= 0 {
		tasks = append(slices.Delete(tasks, i, i+1), leader)
	}
	var out []int
	for _, task := range tasks {
		data, err := os.ReadFile(dir + task + "/children")
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

// killMarked SIGKILLs the processes other than this one whose initial
// environment holds entry (K=V), and returns their pids. It reads every
// process's /proc/PID/environ it may (its own user's): a few ms on a
// busy host, so only after a child ended by itself. A process that was
// given an environment of its own, or rewrote its own, is not found.
func killMarked(entry string) []int {
	want := []byte(entry)
	self := os.Getpid()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var killed []int
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(dir + "/environ")
		if err != nil {
			continue
		}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				_ = unix.Kill(pid, unix.SIGKILL)
				killed = append(killed, pid)
				break
			}
		}
	}
	return killed
}
