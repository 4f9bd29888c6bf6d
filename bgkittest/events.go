package bgkittest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
)

// EventRecorder holds the events of a service's topic, from [Events]. It
// is safe for concurrent use and keeps every event for the test's
// duration.
type EventRecorder struct {
	mu      sync.Mutex
	name    string
	events  []controller.Event
	changed chan struct{} // closed and replaced when an event arrives
}

// Events subscribes to the events of topic ("" for all) of the service c
// calls, from now on, and records them until the test ends.
//
//	ev := bgkittest.Events(t, c, "session_changed")
//	// … make the service change session …
//	e := ev.WaitFor(t, func(e controller.Event) bool { return true }, 5*time.Second)
func Events(t testing.TB, c *controller.Controller, topic string) *EventRecorder {
	t.Helper()
	r := &EventRecorder{name: c.Name(), changed: make(chan struct{})}
	if topic != "" {
		r.name += "." + topic
	}
	sub, err := c.Subscribe(context.Background(), topic, r.add)
	if err != nil {
		t.Fatalf("bgkittest.Events: %v", err)
	}
	t.Cleanup(sub.Stop)
	return r
}

func (r *EventRecorder) add(e controller.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
}

// Events returns a copy of the events so far, oldest first.
func (r *EventRecorder) Events() []controller.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]controller.Event(nil), r.events...)
}

// Wait returns the first event, already recorded or still to come, for
// which match reports true. It waits until such an event arrives or ctx
// ends; then the error wraps ctx.Err().
func (r *EventRecorder) Wait(ctx context.Context, match func(controller.Event) bool) (controller.Event, error) {
	next := 0
	for {
		r.mu.Lock()
		evs, changed := r.events[next:], r.changed
		next = len(r.events)
		r.mu.Unlock()
		for _, e := range evs {
			if match(e) {
				return e, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			r.mu.Lock()
			n := len(r.events)
			r.mu.Unlock()
			return controller.Event{}, fmt.Errorf("bgkittest: wait for an event of %s: none of %d matched: %w", r.name, n, ctx.Err())
		}
	}
}

// WaitFor is Wait with a timeout that fails the test (t.Fatal) when no
// event matches in time.
func (r *EventRecorder) WaitFor(t testing.TB, match func(controller.Event) bool, timeout time.Duration) controller.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	e, err := r.Wait(ctx, match)
	if err != nil {
		t.Fatalf("%v (waited %v)", err, timeout)
	}
	return e
}

// Topic matches events of topic.
func Topic(topic string) func(controller.Event) bool {
	return func(e controller.Event) bool { return e.Topic == topic }
}
