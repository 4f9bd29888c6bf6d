// Package floodtest floods a subject as a hostile child can: from a few
// connections of the child's own user, with messages as large as the bus
// takes, as fast as they go, until stopped. Tests use it to show that what
// a child may publish on cannot take its parent's connection down.
package floodtest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bgkit/bgkit/bus"
)

// Conns is how many connections of its user a flood publishes from (one
// was not enough to close a parent's connection here; four close it within
// a fraction of a second).
const Conns = 4

// A Flood is a flood under way, from [Start] to [Flood.Stop].
type Flood struct {
	// Payload is the size of each message: the bus's largest less 512
	// bytes (room for the subject and headers).
	Payload int

	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	sent atomic.Int64
}

// Start dials [Conns] connections with creds and opts and publishes on
// subject from each of them until [Flood.Stop] is called or the test ends.
// A connection that cannot publish any more (the server closed it) stops
// publishing. The connections are closed when the test ends; a dial that
// fails fails the test before anything is sent.
func Start(t testing.TB, creds bus.Credentials, subject string, opts ...bus.Option) *Flood {
	t.Helper()
	conns := make([]*bus.Bus, Conns)
	for i := range conns {
		fb, err := bus.Dial(t.Context(), creds, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fb.Close() })
		conns[i] = fb
	}
	f := &Flood{Payload: int(conns[0].Conn().MaxPayload()) - 512, stop: make(chan struct{})}
	payload := make([]byte, f.Payload)
	for _, fb := range conns {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for {
				select {
				case <-f.stop:
					return
				default:
				}
				if fb.Conn().Publish(subject, payload) != nil {
					return
				}
				f.sent.Add(1)
			}
		}()
	}
	t.Cleanup(func() { f.Stop() }) // before the connections close
	return f
}

// Stop ends the flood and returns once its publishers have, with the
// number of messages they sent. It may be called more than once.
func (f *Flood) Stop() int64 {
	f.once.Do(func() { close(f.stop) })
	f.wg.Wait()
	return f.sent.Load()
}
