package integration

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

func streamsSpawnProbe(tb testing.TB, b *bus.Bus, name string) (*spawn.Handle, *controller.Controller) {
	tb.Helper()
	ctx := context.Background()
	h, err := spawn.Run(ctx, b, NewStreamsProbeService, StreamsProbeArgs{}, spawn.WithName(name),
		spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return h, c
}

// An event emitted by a child reaches a subscriber in the parent and one
// in another process (a second child), each in order and complete.
func TestStreamsEventsAcrossProcesses(t *testing.T) {
	b := bgkittest.Bus(t)
	_, src := streamsSpawnProbe(t, b, "EVT_SOURCE")
	_, follower := streamsSpawnProbe(t, b, "EVT_FOLLOWER")
	inParent := bgkittest.Events(t, src, "tick")
	if err := follower.Call(t.Context(), "follow", map[string]string{"service": "EVT_SOURCE", "topic": "tick"}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	if err := src.Call(t.Context(), "fire", n, nil); err != nil {
		t.Fatal(err)
	}
	inParent.WaitFor(t, func(e controller.Event) bool { return e.Seq == n }, 10*time.Second)
	var elsewhere []controller.Event
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := follower.Call(ctx, "followed", n, &elsewhere); err != nil {
		t.Fatal(err)
	}
	for name, evs := range map[string][]controller.Event{"parent": inParent.Events(), "other process": elsewhere} {
		if len(evs) != n {
			t.Fatalf("%s: %d events, want %d", name, len(evs), n)
		}
		for i, e := range evs {
			var v struct{ I int }
			if err := e.Decode(&v); err != nil || v.I != i+1 || e.Seq != uint64(i+1) || e.Missed != 0 ||
				e.Service != "EVT_SOURCE" || e.Topic != "tick" {
				t.Fatalf("%s: event %d: %+v %v", name, i, e, err)
			}
		}
	}
}

// BenchmarkStreamsEvents: events/s from one service (a child) to one
// subscriber (the parent), lost events, and latency p50/p99 (emit to
// callback, one clock: same machine).
func BenchmarkStreamsEvents(b *testing.B) {
	bb := bgkittest.Bus(b)
	_, c := streamsSpawnProbe(b, bb, "EVT_BENCH")
	// A fixed burst per run, as the other figure benchmarks (make bench
	// runs each once).
	const n = 200000
	for range b.N {
		var got atomic.Int64
		var missed atomic.Uint64
		lat := make([]time.Duration, 0, n)
		all := make(chan struct{})
		sub, err := c.Subscribe(b.Context(), "tick", func(e controller.Event) {
			var v streamsTick
			_ = json.Unmarshal(e.Data, &v)
			lat = append(lat, time.Duration(time.Now().UnixNano()-v.NS))
			missed.Add(e.Missed)
			if got.Add(1)+int64(missed.Load()) == n {
				close(all)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
		err = c.Call(ctx, "fire", n, nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		fired := time.Since(start)
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		elapsed := time.Since(start)
		sub.Stop()
		b.ReportMetric(float64(got.Load())/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(n-got.Load()), "lost")
		b.ReportMetric(float64(n)/fired.Seconds(), "emitted/s")
		if len(lat) > 0 {
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		}
	}
}

// BenchmarkStreamsEventLatency: one event at a time from a child to the
// parent's callback; p50/p99 of emit → callback (same machine clock).
func BenchmarkStreamsEventLatency(b *testing.B) {
	bb := bgkittest.Bus(b)
	_, c := streamsSpawnProbe(b, bb, "EVT_LATENCY")
	got := make(chan time.Duration, 1)
	sub, err := c.Subscribe(b.Context(), "tick", func(e controller.Event) {
		var v streamsTick
		_ = json.Unmarshal(e.Data, &v)
		got <- time.Duration(time.Now().UnixNano() - v.NS)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Stop()
	const n = 2000
	lat := make([]time.Duration, 0, n)
	for range b.N {
		for range n {
			if err := c.Call(b.Context(), "fire", 1, nil); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, <-got)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// A child may publish only its own events: one published as another
// service never reaches a subscriber.
func TestStreamsChildCannotEmitAsAnother(t *testing.T) {
	b := bgkittest.Bus(t)
	_, spy := streamsSpawnProbe(t, b, "EVT_SPY")
	msgs := make(chan string, 16)
	sub, err := b.Conn().Subscribe("evt.>", func(m *nats.Msg) { msgs <- m.Subject })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if err := spy.Call(t.Context(), "emit_as", "EVT_VICTIM", nil); err != nil {
		t.Fatal(err)
	}
	// The server handles the child's publishes in order: once the genuine
	// event is here, a forged one that passed would be here too.
	for subject := range msgs {
		if subject == "evt.EVT_VICTIM.forged" {
			t.Fatal("a child emitted as another service")
		}
		if subject == "evt.EVT_SPY.genuine" {
			break
		}
	}
}
