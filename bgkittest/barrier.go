package bgkittest

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nuid"

	"github.com/bgkit/bgkit/bus"
)

// A barrier tells when every record a child published before it has been
// handled: the parent publishes a marker record on the child's log.<NAME>
// and waits for it to come back through the relay. The server delivers the
// child's earlier records to the relay before the marker, and the relay
// hands unnumbered records over as they come, so once the marker is back
// the earlier records are in the test's output and the recorder.

// barrierKey is the attribute that marks a barrier record.
const barrierKey = "bgkittest_barrier"

// barrierWait bounds the wait for a marker (on a bus where the parent may
// not publish on log.<NAME>, it never comes back).
const barrierWait = 2 * time.Second

// barriers are the markers a child's handler waits for.
type barriers struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

func newBarriers() *barriers { return &barriers{waiting: map[string]chan struct{}{}} }

// pass reports whether r is a barrier record, and releases its waiter.
func (bs *barriers) pass(r slog.Record) bool {
	var id string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == barrierKey {
			id = a.Value.String()
			return false
		}
		return true
	})
	if id == "" {
		return false
	}
	bs.mu.Lock()
	if ch, ok := bs.waiting[id]; ok {
		close(ch)
		delete(bs.waiting, id)
	}
	bs.mu.Unlock()
	return true
}

// sync publishes a marker on the log subject of name and waits until it
// has come back, or barrierWait. It reports whether it came back.
func (bs *barriers) sync(b *bus.Bus, name string) bool {
	id := nuid.Next()
	ch := make(chan struct{})
	bs.mu.Lock()
	bs.waiting[id] = ch
	bs.mu.Unlock()
	defer func() {
		bs.mu.Lock()
		delete(bs.waiting, id)
		bs.mu.Unlock()
	}()
	data, _ := json.Marshal(map[string]string{
		slog.TimeKey: time.Now().Format(time.RFC3339Nano), slog.LevelKey: "INFO",
		slog.MessageKey: "bgkittest log barrier", barrierKey: id,
	})
	if b.Conn().Publish(bus.LogSubject(name), data) != nil {
		return false
	}
	select {
	case <-ch:
		return true
	case <-time.After(barrierWait):
		return false
	}
}
