package controller_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type eventsProbe struct{}

func (eventsProbe) Initialize(context.Context) error { return nil }
func (eventsProbe) Shutdown(context.Context) error   { return nil }

// Fire emits n events on topic "tick" ({"i": 1..n}) and one on "tock".
func (eventsProbe) Fire(ctx context.Context, n int) error {
	for i := 1; i <= n; i++ {
		if err := service.Emit(ctx, "tick", map[string]int{"i": i}); err != nil {
			return err
		}
	}
	return service.Emit(ctx, "tock", n)
}

func startEventsProbe(t *testing.T) *controller.Controller {
	t.Helper()
	c, _ := startEventsProbeBus(t)
	return c
}

func startEventsProbeBus(t *testing.T) (*controller.Controller, *bus.Bus) {
	t.Helper()
	b := bgkittest.Bus(t)
	bgkittest.Serve(t, b, eventsProbe{}, service.WithName("PROBE"))
	c, err := controller.Connect(t.Context(), b, "PROBE")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, b
}

func TestEventsSubscribeOrderAndTopics(t *testing.T) {
	c := startEventsProbe(t)
	var mu sync.Mutex
	var all, ticks []controller.Event
	done := make(chan struct{})
	subAll, err := c.Subscribe(t.Context(), "", func(e controller.Event) {
		mu.Lock()
		all = append(all, e)
		mu.Unlock()
		if e.Topic == "tock" {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer subAll.Stop()
	tickDone := make(chan struct{})
	subTick, err := c.Subscribe(t.Context(), "tick", func(e controller.Event) {
		mu.Lock()
		ticks = append(ticks, e)
		mu.Unlock()
		if e.Seq == 1000 {
			close(tickDone)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := c.Call(t.Context(), "fire", 1000, nil); err != nil {
		t.Fatal(err)
	}
	<-done
	<-tickDone
	subAll.Stop()
	subAll.Stop() // idempotent
	subTick.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(all) != 1001 || len(ticks) != 1000 {
		t.Fatalf("got %d events on all topics, %d on tick; want 1001, 1000", len(all), len(ticks))
	}
	for i, e := range ticks {
		var v struct{ I int }
		if err := e.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v.I != i+1 || e.Seq != uint64(i+1) || e.Missed != 0 || e.Service != "PROBE" || e.Topic != "tick" {
			t.Fatalf("event %d: %+v (value %d)", i, e, v.I)
		}
		if e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now()) {
			t.Fatalf("event %d: time %v", i, e.Time)
		}
	}
	if last := all[1000]; last.Topic != "tock" || last.Seq != 1 {
		t.Fatalf("last event %+v", last)
	}
}

func TestEventsBadTopic(t *testing.T) {
	c := startEventsProbe(t)
	for _, topic := range []string{"a.b", "a b", "*", ">"} {
		if _, err := c.Subscribe(t.Context(), topic, func(controller.Event) {}); !errors.Is(err, bus.ErrBadName) {
			t.Errorf("Subscribe(%q) = %v, want ErrBadName", topic, err)
		}
	}
}

// A callback that does not keep up loses events, never stops the service,
// and is told how many it missed.
func TestEventsSlowSubscriberToldMissed(t *testing.T) {
	c := startEventsProbe(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var got []controller.Event
	after := make(chan uint64, 1) // the seq of an event after the burst
	const n = controller.EventBuffer + 5000
	sub, err := c.Subscribe(t.Context(), "tick", func(e controller.Event) {
		<-release
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
		if e.Seq > n {
			select {
			case after <- e.Seq:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	// The reply comes after every event was offered to the subscription.
	if err := c.Call(t.Context(), "fire", n, nil); err != nil {
		t.Fatalf("the service stopped for a slow subscriber: %v", err)
	}
	close(release)
	// One more event, until one gets through: while the callback still
	// works through its buffer, a new event finds it full and is missed
	// too (and counted on the next one delivered).
	var last uint64 // the first event after the burst to get through
	deadline := time.After(30 * time.Second)
	for last == 0 {
		if err := c.Call(t.Context(), "fire", 1, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case last = <-after:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event after the gap arrived")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Every event up to the last one delivered (more than one may have
	// come through after the burst) was delivered or counted as missed.
	var missed, top uint64
	for _, e := range got {
		missed += e.Missed
		top = max(top, e.Seq)
	}
	if missed == 0 || uint64(len(got))+missed != top {
		t.Fatalf("delivered %d, missed %d; want a gap and %d in all", len(got), missed, top)
	}
}

func TestEventsStopWhenCtxEnds(t *testing.T) {
	c := startEventsProbe(t)
	ctx, cancel := context.WithCancel(t.Context())
	sub, err := c.Subscribe(ctx, "", func(controller.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	sub.Stop() // returns: the goroutine ended with ctx
}

// TestEventsBufferBoundedInBytes: the events waiting for a busy callback
// are bounded in bytes too (EventBufferBytes), not only in number: 200
// events of 512 KiB for a stuck callback do not all wait in memory.
func TestEventsBufferBoundedInBytes(t *testing.T) {
	c, b := startEventsProbeBus(t)
	release := make(chan struct{})
	var delivered atomic.Int64
	sub, err := c.Subscribe(t.Context(), "big", func(controller.Event) {
		<-release
		delivered.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	nc := b.Conn()
	const n, size = 200, 512 << 10
	data := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	for i := 1; i <= n; i++ {
		m := nats.NewMsg(bus.EventSubject("PROBE", "big"))
		m.Header.Set(service.EventSeqHeader, strconv.Itoa(i))
		m.Header.Set(service.EventSourceHeader, "test")
		m.Data = data
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	// The same connection: once the flush returns, every event was
	// offered to the subscription.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dropped := sub.Dropped()
	close(release)
	if most := controller.EventBufferBytes/size + 2; n-dropped > most {
		t.Fatalf("%d of %d events of %d KiB waited for the callback (%d dropped); at most %d fit %d MiB",
			n-dropped, n, size>>10, dropped, most, controller.EventBufferBytes>>20)
	}
}
