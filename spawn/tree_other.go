//go:build !linux

package spawn

import (
	"os"
	"time"
)

// Without Linux's subreaper and /proc a service's descendants that left
// its process group are not found: the group kill is all there is.

func becomeSubreaper()                   {}
func hasChildren() bool                  { return false }
func killDescendants(int, time.Duration) {}

func pipeInode(*os.File) uint64       { return 0 }
func killPipeHolders(...uint64) []int { return nil }
func killMarked(string) []int         { return nil }
