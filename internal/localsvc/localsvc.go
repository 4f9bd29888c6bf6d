// Package localsvc knows which services the children of this process
// serve, on which bus connection: spawn says so when a child is ready and
// when it has exited, and controller.Connect then skips its $SRV.PING, a
// round trip to learn what this process already knows.
package localsvc

import (
	"sync"

	"github.com/nats-io/nats.go"
)

type key struct {
	nc   *nats.Conn
	name string
}

var (
	mu      sync.Mutex
	serving = map[key]int{} // live instances
)

// Add records an instance of name that serves on nc; remove, called once
// it has exited, forgets it (a second call does nothing).
func Add(nc *nats.Conn, name string) (remove func()) {
	k := key{nc, name}
	mu.Lock()
	serving[k]++
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if serving[k]--; serving[k] <= 0 {
				delete(serving, k)
			}
		})
	}
}

// Serving reports whether an instance of name that this process started
// serves on nc.
func Serving(nc *nats.Conn, name string) bool {
	mu.Lock()
	defer mu.Unlock()
	return serving[key{nc, name}] > 0
}
