package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
)

// heldWriter is a terminal the test can stall: Write waits while the test
// holds it. It notes whether a line with "dropped" or with after came.
type heldWriter struct {
	hold    sync.Mutex
	after   string
	dropped atomic.Bool
	seen    atomic.Bool
	lines   atomic.Int64
}

func (w *heldWriter) Write(p []byte) (int, error) {
	w.hold.Lock()
	defer w.hold.Unlock()
	w.lines.Add(int64(bytes.Count(p, []byte("\n"))))
	if bytes.Contains(p, []byte("dropped")) {
		w.dropped.Store(true)
	}
	if bytes.Contains(p, []byte(w.after)) {
		w.seen.Store(true)
	}
	return len(p), nil
}

// A follower (`bgkit logs`, `bgkit events`) whose terminal stalls during a
// burst drops what it cannot hold, says so, and goes on following: bounded
// in number (65,536 messages) and in bytes (64 MiB), never ended by the
// burst.
//
// Was a bug: `logs` returned nats.ErrSlowConsumer once its subscription
// overflowed (and held any number of bytes until then: 65,536 records of
// 1 MiB); `events` bounded only the number.
func TestFollowersOutlastABurst(t *testing.T) {
	dropped := make(chan func() int, 1)
	followingForTest = func(n func() int) { dropped <- n }
	defer func() { followingForTest = nil }()
	b := bgkittest.Bus(t)
	url := b.Credentials().ShareURL()
	nc := b.Conn()
	for _, tc := range []struct {
		name    string
		args    []string
		subject string
		message func(text string, pad int) []byte
	}{
		{"logs", []string{"logs", "-n", "0"}, "log.BURST", func(text string, pad int) []byte {
			return fmt.Appendf(nil, `{"time":"2026-12-01T10:00:00Z","level":"INFO","msg":%q,"pad":%q}`, text, strings.Repeat("x", pad))
		}},
		{"events", []string{"events", "--life=false"}, "evt.BURST.burst", func(text string, pad int) []byte {
			return fmt.Appendf(nil, `{"text":%q,"pad":%q}`, text, strings.Repeat("x", pad))
		}},
	} {
		for _, burst := range []struct {
			name   string
			n, pad int
		}{
			{"many small", 70000, 20},
			{"few large", 100, 900 << 10}, // 90 MB: past the bytes bound, far below the number
		} {
			t.Run(tc.name+"/"+burst.name, func(t *testing.T) {
				w := &heldWriter{after: "after-" + tc.name + burst.name}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					done <- run(ctx, append(append([]string{}, tc.args...), "--no-color", "--server", url, "BURST"), w, io.Discard)
				}()
				ended := false
				defer func() {
					cancel()
					if !ended {
						if err := <-done; err != nil {
							t.Errorf("after the test: %v", err)
						}
					}
				}()
				var droppedSoFar func() int
				select {
				case droppedSoFar = <-dropped:
				case err := <-done:
					ended = true
					t.Fatalf("%s ended before it followed: %v", tc.name, err)
				}
				// Following once a record shows.
				for w.lines.Load() == 0 {
					if err := nc.Publish(tc.subject, tc.message("probe", 0)); err != nil {
						t.Fatal(err)
					}
					select {
					case err := <-done:
						ended = true
						t.Fatalf("%s ended: %v", tc.name, err)
					case <-time.After(20 * time.Millisecond):
					}
				}
				w.hold.Lock()
				for i := range burst.n {
					if err := nc.Publish(tc.subject, tc.message(fmt.Sprint("burst ", i), burst.pad)); err != nil {
						t.Fatal(err)
					}
				}
				if err := nc.Flush(); err != nil {
					t.Fatal(err)
				}
				// The terminal stays stalled until the follower has had to
				// drop (the server may still be delivering the burst).
				for wait := time.After(60 * time.Second); droppedSoFar() == 0; {
					select {
					case <-wait:
						w.hold.Unlock()
						t.Fatalf("%s: %d messages of %d bytes to a stalled terminal, none dropped in 60 s", tc.name, burst.n, burst.pad)
					case <-time.After(5 * time.Millisecond):
					}
				}
				w.hold.Unlock()
				deadline := time.After(60 * time.Second)
				for !w.seen.Load() {
					if err := nc.Publish(tc.subject, tc.message(w.after, 0)); err != nil {
						t.Fatal(err)
					}
					select {
					case err := <-done:
						ended = true
						t.Fatalf("%s ended during the burst: %v", tc.name, err)
					case <-deadline:
						t.Fatalf("%s printed nothing after the burst", tc.name)
					case <-time.After(50 * time.Millisecond):
					}
				}
				if !w.dropped.Load() {
					t.Errorf("%s: %d messages of %d bytes to a stalled terminal, and no note of any dropped", tc.name, burst.n, burst.pad)
				}
			})
		}
	}
}
