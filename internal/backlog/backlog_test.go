package backlog

import (
	"context"
	"testing"
	"time"
)

// A slow reader holds the producer back: nothing is lost, in order, and
// the queue never holds more than its backlog.
func TestBackpressure(t *testing.T) {
	const backlog, pushes, per = 1000, 30, 100
	q := New[int](backlog, 2*time.Second)
	go func() {
		for i := range pushes {
			items := make([]int, per)
			for j := range items {
				items[j] = i*per + j
			}
			q.Push(items...)
		}
	}()
	n := 0
	for n < pushes*per {
		<-q.Signal()
		batch, lost := q.Take(nil)
		if lost {
			t.Fatal("lost")
		}
		if len(batch) > backlog {
			t.Fatalf("queue held %d items, more than %d", len(batch), backlog)
		}
		for _, v := range batch {
			if v != n {
				t.Fatalf("item %d is %d", n, v)
			}
			n++
		}
		time.Sleep(time.Millisecond) // a slow reader
	}
}

// A reader that takes nothing for the stall time loses the queue: Push
// returns after the stall, not before, and the reader gets what was
// queued, then an error.
func TestStalledReaderEndsIt(t *testing.T) {
	const stall = 50 * time.Millisecond
	q := New[int](4, stall)
	t0 := time.Now()
	q.Push(0, 1, 2, 3, 4) // the fifth waits the stall out
	if d := time.Since(t0); d < stall {
		t.Errorf("Push gave up after %v, before the stall time", d)
	}
	q.Push(5) // lost: returns at once, queues nothing
	var got []int
	var err error
	q.Drain(context.Background(), "tail", "frames", func(v int, e error) bool {
		if e != nil {
			err = e
			return false
		}
		got = append(got, v)
		return true
	})
	if len(got) != 4 || err == nil || err.Error() != "tail: the reader took nothing for 50ms with 4 frames waiting" {
		t.Fatalf("got %v, error %v; want the 4 queued, then the stall's error", got, err)
	}
}

// A reader slower than the producer but taking items all along is not a
// stalled one, even when working through one backlog takes longer than
// the stall time.
func TestSlowReaderIsNotStalled(t *testing.T) {
	const backlog, stall, n = 64, 50 * time.Millisecond, 3 * 64
	q := New[int](backlog, stall)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for i := range n {
			q.Push(i)
		}
	}()
	got := 0
	q.Drain(ctx, "watch", "changes", func(v int, err error) bool {
		if err != nil {
			t.Fatalf("after %d items: %v", got, err)
		}
		if v != got {
			t.Fatalf("item %d is %d", got, v)
		}
		got++
		time.Sleep(2 * time.Millisecond) // 64 items take ~130 ms > stall
		return got < n
	})
	q.End()
	if got != n {
		t.Fatalf("%d items of %d", got, n)
	}
}

// End lets a Push waiting for space return, and Seed queues past the
// backlog.
func TestEndAndSeed(t *testing.T) {
	q := New[int](2, time.Hour)
	q.Seed([]int{1, 2, 3})
	done := make(chan struct{})
	go func() { q.Push(4); close(done) }()
	q.End()
	<-done
	if batch, lost := q.Take(nil); len(batch) != 3 || lost {
		t.Fatalf("Take = %v, %v; want the 3 seeded", batch, lost)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.Drain(ctx, "tail", "frames", func(int, error) bool { t.Fatal("yielded after the end"); return false })
}
