//go:build !linux

package integration

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

// lifecycleDieWithTest: without Pdeathsig, helper processes are stopped
// at cleanup only.
func lifecycleDieWithTest() *syscall.SysProcAttr { return nil }

// awaitExit waits until process pid has exited (polled: no pidfd outside
// Linux). It reports whether it did within timeout. A zombie counts as
// alive here.
func awaitExit(t testing.TB, pid int, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
