//go:build !linux

package bgkittest

import "time"

// process is a leaked process; only Linux looks for them.
type process struct{ pid int }

func (process) String() string { return "" }
func (process) kill()          {}

func ownedProcesses(int, map[int]string) ([]process, error) { return nil, nil }

func awaitExit(int, time.Duration) bool { return true }

func liveChildren(int) map[int]bool { return nil }
