package spawn

import "golang.org/x/sys/unix"

// processAlive reports whether the child pid has not exited, without
// reaping it (waitid with WNOWAIT).
func processAlive(pid int) bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == 0
}
