package canmonitor

import (
	"context"
	"testing"
	"time"
)

func newTestWatch() *watch {
	w := newWatchQueue(MaxWatchBacklog, WatchStall)
	w.every = true
	return w
}

// A slow reader holds the pusher back: nothing is lost, in order, and the
// queue never holds more than MaxWatchBacklog.
func TestWatchBackpressure(t *testing.T) {
	w := newTestWatch()
	const frames, per = 3 * MaxWatchBacklog / 100, 100
	go func() {
		for i := range frames {
			cs := make([]SignalChange, per)
			for j := range cs {
				cs[j].Value = float64(i*per + j)
			}
			w.push(cs)
		}
	}()
	n := 0
	for n < frames*per {
		<-w.signal
		batch, lost := w.take(nil)
		if lost {
			t.Fatal("lost")
		}
		if len(batch) > MaxWatchBacklog {
			t.Fatalf("queue held %d changes, more than %d", len(batch), MaxWatchBacklog)
		}
		for _, c := range batch {
			if c.Value != float64(n) {
				t.Fatalf("change %d has value %v", n, c.Value)
			}
			n++
		}
		time.Sleep(time.Millisecond) // a slow reader
	}
}

// A reader that takes nothing for WatchStall loses its watch, which then
// reports it instead of dropping changes silently.
func TestWatchStall(t *testing.T) {
	w := newTestWatch()
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(done)
		w.push(make([]SignalChange, MaxWatchBacklog+1))
	}()
	select {
	case <-done:
	case <-time.After(WatchStall + 10*time.Second):
		t.Fatal("push still blocked long after WatchStall")
	}
	if d := time.Since(t0); d < WatchStall {
		t.Errorf("push gave up after %v, before WatchStall", d)
	}
	batch, lost := w.take(nil)
	if !lost || len(batch) != MaxWatchBacklog {
		t.Fatalf("take = %d changes, lost %v; want %d, true", len(batch), lost, MaxWatchBacklog)
	}
}

// A reader slower than the decoding but taking changes all along is not
// a stalled one, even when working through one backlog takes longer than
// the stall time.
func TestWatchSlowReaderIsNotStalled(t *testing.T) {
	const backlog, n = 64, 3 * 64
	w := newWatchQueue(backlog, 50*time.Millisecond)
	w.every = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for i := range n {
			w.push([]SignalChange{{Value: float64(i)}})
		}
	}()
	got := 0
	w.changes(ctx, func(c SignalChange, err error) bool {
		if err != nil {
			t.Fatalf("after %d changes: %v", got, err)
		}
		if c.Value != float64(got) {
			t.Fatalf("change %d has value %v", got, c.Value)
		}
		got++
		time.Sleep(2 * time.Millisecond) // 64 changes take ~130 ms > stall
		return got < n
	})
	w.end()
	if got != n {
		t.Fatalf("%d changes of %d", got, n)
	}
}
