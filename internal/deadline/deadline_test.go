package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestUntilNeverEarly: Until never returns before its deadline (how late
// it is depends on the machine: see the STmin and lateness benchmarks).
func TestUntilNeverEarly(t *testing.T) {
	var w Waiter
	defer w.Stop()
	for _, d := range []time.Duration{0, 300 * time.Microsecond, 900 * time.Microsecond, 3 * time.Millisecond} {
		for range 20 {
			at := time.Now().Add(d)
			if err := w.Until(context.Background(), at, nil); err != nil {
				t.Fatal(err)
			}
			got := time.Since(at)
			if got < 0 {
				t.Fatalf("returned %v before the deadline", -got)
			}
		}
	}
}

func TestUntilWakeAndCancel(t *testing.T) {
	wake := make(chan struct{})
	close(wake)
	if err := Until(context.Background(), time.Now().Add(time.Hour), wake); !errors.Is(err, ErrWoken) {
		t.Fatalf("woken: %v", err)
	}
	if err := Until(context.Background(), time.Now().Add(time.Millisecond), wake); !errors.Is(err, ErrWoken) {
		t.Fatalf("woken while spinning: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Until(ctx, time.Now().Add(time.Hour), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := Until(ctx, time.Now().Add(-time.Second), nil); err != nil {
		t.Fatalf("past deadline: %v", err)
	}
}

func TestUntilOwnClock(t *testing.T) {
	fake := time.Unix(1000, 0)
	w := Waiter{Now: func() time.Time { return fake }}
	if err := w.Until(context.Background(), fake, nil); err != nil {
		t.Fatal(err)
	}
}
