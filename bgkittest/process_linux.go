package bgkittest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// process is a live process found in /proc.
type process struct {
	pid, ppid, pgrp int
	cmdline         string
	service         string // the service whose process group it is in, if any
}

func (p process) String() string {
	s := fmt.Sprintf("pid %d (parent %d, group %d): %s", p.pid, p.ppid, p.pgrp, p.cmdline)
	if p.service != "" && p.pgrp != p.pid {
		s += " (in the process group of " + p.service + ")"
	}
	return s
}

// kill sends SIGKILL to p, or to its whole group when p leads a group of
// its own (as a child started by spawn does).
func (p process) kill() {
	if p.pgrp == p.pid && p.pgrp != syscall.Getpgrp() {
		_ = syscall.Kill(-p.pgrp, syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
}

// ownedProcesses lists the processes, other than zombies, whose parent is
// self or whose process group is a key of groups (this process's own group
// excepted); groups maps a process group id to its service's name.
func ownedProcesses(self int, groups map[int]string) ([]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	own := syscall.Getpgrp()
	var out []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		p, state, err := readStat(pid)
		if err != nil || state == 'Z' || state == 'X' {
			continue // gone meanwhile, or dead and waiting to be reaped
		}
		name, inGroup := groups[p.pgrp]
		if p.ppid == self || (inGroup && p.pgrp != own) {
			p.cmdline, p.service = readCmdline(pid), name
			out = append(out, p)
		}
	}
	return out, nil
}

// readStat parses /proc/PID/stat: "pid (comm) state ppid pgrp ...". comm
// may hold spaces and parentheses; the last ')' ends it.
func readStat(pid int) (process, byte, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return process{}, 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return process{}, 0, errors.New("bad stat")
	}
	comm := string(data[bytes.IndexByte(data, '(')+1 : i])
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return process{}, 0, errors.New("bad stat")
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return process{}, 0, errors.New("bad stat")
	}
	return process{pid: pid, ppid: ppid, pgrp: pgrp, cmdline: comm}, f[0][0], nil
}

func readCmdline(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(data) == 0 {
		if p, _, err := readStat(pid); err == nil {
			return "[" + p.cmdline + "]"
		}
		return "?"
	}
	return strings.Join(strings.Split(strings.TrimRight(string(data), "\x00"), "\x00"), " ")
}

// awaitExit waits up to d for pid to exit (a zombie counts as exited) and
// reports whether it did. It waits on a pidfd, which works for processes
// that are not our children too.
func awaitExit(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		ms := max(0, int(time.Until(deadline).Milliseconds()))
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// liveChildren returns the pids of the live child processes of self that
// spawn started (their command line is "<binary> bgkit-child NAME").
func liveChildren(self int) map[int]bool {
	procs, err := ownedProcesses(self, nil)
	if err != nil {
		return nil
	}
	out := map[int]bool{}
	for _, p := range procs {
		if p.ppid == self && strings.Contains(p.cmdline, " bgkit-child ") {
			out[p.pid] = true
		}
	}
	return out
}
