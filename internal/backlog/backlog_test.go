package backlog

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errBehind = errors.New("behind")

// drain takes what q holds until it ends, or limit items: the items,
// then the error.
func drain(t *testing.T, q *Queue[int], limit int) ([]int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int
	var err error
	q.Drain(ctx, errBehind, func(v int, e error) bool {
		if e != nil {
			err = e
			return false
		}
		got = append(got, v)
		return len(got) < limit
	})
	return got, err
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func isSeq(s []int, n int) bool {
	if len(s) != n {
		return false
	}
	for i, v := range s {
		if v != i {
			return false
		}
	}
	return true
}

// Push never waits: past the backlog it queues nothing more, and the
// reader gets every item held, in order, then the error.
func TestPushNeverWaits(t *testing.T) {
	tests := []struct {
		name    string
		backlog int
		push    int
		wantAll bool
	}{
		{name: "within the backlog", backlog: 1000, push: 1000, wantAll: true},
		{name: "one block", backlog: 10, push: 10, wantAll: true},
		{name: "past the backlog", backlog: 1000, push: 3000},
		{name: "past a backlog of one", backlog: 1, push: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New[int](tt.backlog)
			t0 := time.Now()
			ok := q.Push(seq(0, tt.push)...)
			if d := time.Since(t0); d > time.Second {
				t.Errorf("Push took %v", d)
			}
			if ok != tt.wantAll {
				t.Errorf("Push = %v, want %v", ok, tt.wantAll)
			}
			want, wantErr := tt.push, error(nil)
			if !tt.wantAll {
				want, wantErr = tt.backlog, errBehind
			}
			got, err := drain(t, q, tt.push)
			if !isSeq(got, want) || !errors.Is(err, wantErr) {
				t.Fatalf("got %d items (in order: %v), then %v; want %d, then %v", len(got), isSeq(got, len(got)), err, want, wantErr)
			}
		})
	}
}

// The items in the reader's hands count against the backlog: a reader
// holding a chunk leaves room for the backlog less that chunk.
func TestTakenCounts(t *testing.T) {
	const backlog = 600
	q := New[int](backlog)
	q.Push(seq(0, 100)...)
	dst := make([]int, 64)
	if n, behind := q.Take(dst); n != 64 || behind {
		t.Fatalf("Take = %d, %v; want 64, false", n, behind)
	}
	if !q.Push(seq(100, 100+backlog-100)...) { // 36 queued + 64 held + 500
		t.Fatal("the backlog is full too early")
	}
	if q.Push(0) {
		t.Fatal("a backlog held, and Push queued one more")
	}
	// The reader works through what was held: 600 items, then the error.
	var got []int
	got = append(got, dst...)
	rest, err := drain(t, q, 2*backlog)
	got = append(got, rest...)
	if !isSeq(got, backlog) || !errors.Is(err, errBehind) {
		t.Fatalf("got %d items, then %v; want the %d held in order, then the error", len(got), err, backlog)
	}
}

// A reader slower than the producer but within the backlog gets every
// item, in order, and the producer is never held back.
func TestSlowReaderGetsAll(t *testing.T) {
	const backlog, per, rounds = 1 << 12, 1 << 10, 16 // the reader is at most 2 rounds behind
	q := New[int](backlog)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	progress := make(chan int, rounds) // the items the reader got, each round
	pushed := make(chan time.Duration, 1)
	go func() {
		var worst time.Duration
		for r := range rounds {
			if r >= 2 {
				<-progress
			}
			t0 := time.Now()
			if !q.Push(seq(r*per, (r+1)*per)...) {
				t.Errorf("round %d not queued", r)
			}
			worst = max(worst, time.Since(t0))
		}
		pushed <- worst
	}()
	got := 0
	q.Drain(ctx, errBehind, func(v int, err error) bool {
		if err != nil {
			t.Errorf("after %d items: %v", got, err)
			return false
		}
		if v != got {
			t.Errorf("item %d is %d", got, v)
			return false
		}
		if got++; got%per == 0 {
			progress <- got
		}
		if got%256 == 0 {
			time.Sleep(time.Millisecond) // a slow reader
		}
		return got < rounds*per
	})
	if got != rounds*per {
		t.Fatalf("%d items of %d", got, rounds*per)
	}
	if worst := <-pushed; worst > 100*time.Millisecond {
		t.Errorf("a Push took %v", worst)
	}
}
