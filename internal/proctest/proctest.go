//go:build linux

// Package proctest reads and clears process trees for tests of the tree
// kill (spawn's and integration's), from /proc.
package proctest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Stat is /proc/PID/stat after the name (read after its last ')', so
// that a name holding ')' or spaces does not shift it): state, ppid,
// pgrp, session, …; nil once pid is gone.
func Stat(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(data[i+1:]))
}

// SessionAlive lists the processes of session sid that have not exited.
func SessionAlive(sid int) []int {
	ents, _ := os.ReadDir("/proc")
	var alive []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := Stat(pid); len(f) > 3 && f[3] == strconv.Itoa(sid) && f[0] != "Z" && f[0] != "X" {
			alive = append(alive, pid)
		}
	}
	return alive
}

// KillSession kills what is left of session sid (a test's cleanup): its
// first process's group, then what scans find, up to 100 rounds.
func KillSession(sid int) {
	_ = syscall.Kill(-sid, syscall.SIGKILL)
	for range 100 {
		alive := SessionAlive(sid)
		if len(alive) == 0 {
			return
		}
		for _, pid := range alive {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(-sid, syscall.SIGKILL)
	}
}
