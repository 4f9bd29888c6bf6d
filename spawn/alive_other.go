//go:build unix && !linux

package spawn

import "syscall"

// processAlive reports whether the child pid still exists. Without waitid's
// WNOWAIT an exited but unreaped child (a zombie) counts as alive; a pool
// that hands it out sees it fail to start and says why.
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
