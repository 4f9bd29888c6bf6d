//go:build unix

package spawn

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in a process group of its own, so that a
// terminal's Ctrl-C reaches only the parent and the whole group (grandchildren
// included) can be killed at once.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup sends SIGKILL to the process group pgid.
func killGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// killOwnGroup kills every process in this process's group, and its
// descendants outside it, this one last.
func killOwnGroup() {
	if hasChildren() {
		killDescendants(os.Getpid(), treeKillWait)
	}
	if pg := syscall.Getpgrp(); pg == os.Getpid() {
		_ = syscall.Kill(-pg, syscall.SIGKILL)
	}
}

// closeOnExec keeps fd out of grandchildren.
func closeOnExec(fd int) { syscall.CloseOnExec(fd) }

// lifelineClosed reports whether the read end fd of the lifeline pipe is
// at EOF — the parent, who alone holds the write end, is gone — waiting
// for it up to timeout (0: not at all). fd is non-blocking. Readable is
// not closed: what the parent writes after the bootstrap are stop
// requests, read (and dropped) here until the EOF or nothing is left.
func lifelineClosed(fd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	var buf [16]byte
	for {
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0).Milliseconds()))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil || n == 0:
			return false
		case fds[0].Revents&unix.POLLHUP != 0:
			return true
		case fds[0].Revents&unix.POLLIN == 0:
			return false
		}
		// Readable: stop requests, or an EOF that this system does not
		// report as POLLHUP.
		for {
			r, err := unix.Read(fd, buf[:])
			if r == 0 && err == nil {
				return true
			}
			if r <= 0 {
				break // EAGAIN: drained, the writer is open
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// setNonblock puts fd in non-blocking mode, so that os.NewFile makes it
// pollable.
func setNonblock(fd int) { _ = syscall.SetNonblock(fd, true) }
