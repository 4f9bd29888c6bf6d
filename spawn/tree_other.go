//go:build !linux

package spawn

// Without Linux's subreaper and /proc a service's descendants that left
// its process group are not found: the group kill is all there is.

func becomeSubreaper()    {}
func hasChildren() bool   { return false }
func killDescendants(int) {}
