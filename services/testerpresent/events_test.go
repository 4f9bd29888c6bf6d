package testerpresent

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
)

// eventSub records the events of the default service on every topic, from
// a plain NATS subscription to evt.<NAME>.>.
func eventSub(tb testing.TB, b *bus.Bus) chan *nats.Msg {
	tb.Helper()
	ch := make(chan *nats.Msg, 256)
	sub, err := b.Conn().ChanSubscribe(bus.EventWildcard(DefaultName), ch)
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sub.Unsubscribe() })
	return ch
}

func nextEvent(tb testing.TB, ch chan *nats.Msg) *nats.Msg {
	tb.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitTimeout):
		tb.Fatal("no event")
		return nil
	}
}

func TestEventsLostAndBack(t *testing.T) {
	b := bgkittest.Bus(t)
	events := eventSub(t, b)
	var answering atomic.Bool
	answering.Store(true)
	respond(t, b, "virtual:bus0", 0x7DF, 0x7E8, func(req []byte) []byte {
		if !answering.Load() {
			return nil
		}
		return testerPresentReply(req)
	})
	h := serve(t, b, Args{IntervalMS: 10, SuppressResponse: ptr(false), P2MS: 300, LostAfter: 2, Autostart: true})
	h.waitStats(t, "3 replies", func(st Stats) bool { return st.Sent >= 3 })
	answering.Store(false)

	m := nextEvent(t, events)
	var lost ECULost
	if err := json.Unmarshal(m.Data, &lost); err != nil || m.Subject != bus.EventSubject(DefaultName, TopicECULost) || lost.Missed != 2 || lost.Error == "" {
		t.Fatalf("first event %s %s, want ecu_lost after 2 missed", m.Subject, m.Data)
	}
	h.waitStats(t, "4 errors", func(st Stats) bool { return st.Errors >= 4 }) // no second ecu_lost meanwhile
	answering.Store(true)
	m = nextEvent(t, events)
	var back ECUBack
	if err := json.Unmarshal(m.Data, &back); err != nil || m.Subject != bus.EventSubject(DefaultName, TopicECUBack) || back.Missed < 4 || back.DownMS <= 0 {
		t.Fatalf("second event %s %s, want ecu_back after 4 or more missed", m.Subject, m.Data)
	}
	if err := h.tp.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-events:
		t.Fatalf("extra event %s %s", m.Subject, m.Data)
	default:
	}
}

// With suppress_response true there are no replies to miss: no events,
// even when sending fails.
func TestEventsNoneWhenSuppressed(t *testing.T) {
	b := bgkittest.Bus(t)
	events := eventSub(t, b)
	h := serve(t, b, Args{IntervalMS: 5, LostAfter: 1, Autostart: true})
	h.waitStats(t, "5 requests", func(st Stats) bool { return st.Sent >= 5 })
	h.svc.mu.Lock()
	l := h.svc.link
	h.svc.mu.Unlock()
	l.close()
	h.waitStats(t, "2 errors", func(st Stats) bool { return st.Errors >= 2 })
	if err := h.tp.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-events:
		t.Fatalf("event %s %s with suppress_response", m.Subject, m.Data)
	default:
	}
}
