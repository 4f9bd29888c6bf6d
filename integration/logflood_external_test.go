package integration

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/internal/floodtest"
	"github.com/bgkit/bgkit/spawn"
)

// logFloodWindow is how long each flood of TestExternalLogFlood lasts.
const logFloodWindow = 3 * time.Second

// TestExternalLogFlood: on an external bus (a standalone nats-server), a
// child logging as fast as it can, then a hostile flood of its log
// subject with the largest messages the server takes (from four
// connections with the credentials a child of an external bus holds),
// while the parent calls another child. The parent's calls all succeed,
// its connection is never dropped, and the loud child's records all
// arrive, in order.
func TestExternalLogFlood(t *testing.T) {
	url := startNatsServer(t)
	ctx := context.Background()
	var said lockedBuffer
	b, err := bus.Connect(ctx, url, bus.WithLogger(slog.New(slog.NewTextHandler(&said, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	quiet, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithName("FLOOD_QUIET"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, quiet)
	spam := &spamCounter{}
	loud, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithName("FLOOD_LOUD"), spawn.WithLogger(slog.New(spam)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, loud)
	qc, err := controller.Connect(ctx, b, "FLOOD_QUIET")
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	lc, err := controller.Connect(ctx, b, "FLOOD_LOUD")
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	t.Logf("relays on their own connection: %v", b.LogConn() != b.Conn())

	idle := callQuiet(qc, logFloodWindow/3)
	t.Logf("no flood: %s", idle)

	// 1. The loud child logs flat out: Counter.log, 50,000 records a call.
	const perCall = 50000
	spam.reset(perCall)
	stop := make(chan struct{})
	var logErr atomic.Value
	var logCalls sync.WaitGroup
	logCalls.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := lc.Call(cctx, "log", perCall, nil)
			cancel()
			if err != nil {
				logErr.Store(err)
				return
			}
		}
	})
	before := b.Conn().Stats()
	lat := callQuiet(qc, logFloodWindow)
	close(stop)
	logCalls.Wait()
	after := b.Conn().Stats()
	syncLogs(t, lc, spam)
	runs, inOrder, warns := spam.result()
	t.Logf("child logging flat out: %s; %d records relayed (%d runs of %d, %.0f records/s), in order: %q, warnings: %d; main connection: %d reconnects, %d messages in (%.1f MB)",
		lat, runs*perCall, runs, perCall, float64(runs*perCall)/logFloodWindow.Seconds(), inOrder, warns,
		after.Reconnects-before.Reconnects, after.InMsgs-before.InMsgs, float64(after.InBytes-before.InBytes)/1e6)
	if err, _ := logErr.Load().(error); err != nil {
		t.Errorf("the loud child's log call: %v", err)
	}
	lat.check(t, "while a child logged flat out")
	if inOrder != "" || warns != 0 {
		t.Errorf("records lost or out of order while the child logged flat out: %s; %d warnings", inOrder, warns)
	}
	if n := after.Reconnects - before.Reconnects; n != 0 {
		t.Errorf("the parent's connection reconnected %d times while a child logged flat out; the bus said:\n%s", n, said.lines("disconnected", "reconnected"))
	}

	// 2. A hostile flood of log.FLOOD_LOUD, which the parent's relay
	// subscribes to. On an external bus a child holds its parent's
	// credentials (or, scoped by the operator with ChildPermissions, its
	// own user, which may publish on its log subject).
	creds := b.Credentials()
	creds.InboxPrefix = bus.ChildInboxPrefix("FLOOD_LOUD")
	spam.reset(0)
	before = b.Conn().Stats()
	flood := floodtest.Start(t, creds, bus.LogSubject("FLOOD_LOUD"), bus.WithLogger(slog.New(slog.DiscardHandler)))
	lat = callQuiet(qc, logFloodWindow)
	sent := flood.Stop()
	after = b.Conn().Stats()
	t.Logf("hostile flood of log.FLOOD_LOUD (%d messages of %d bytes, %.0f MB/s): %s; main connection: %d reconnects, %d messages in (%.1f MB), status %v; the relays' connection: %d reconnects in all",
		sent, flood.Payload, float64(sent)*float64(flood.Payload)/1e6/logFloodWindow.Seconds(), lat,
		after.Reconnects-before.Reconnects, after.InMsgs-before.InMsgs, float64(after.InBytes-before.InBytes)/1e6, b.Conn().Status(),
		b.LogConn().Stats().Reconnects)
	lat.check(t, "during a hostile flood of a log subject")
	if n := after.Reconnects - before.Reconnects; n != 0 || b.Conn().Status() != nats.CONNECTED {
		t.Errorf("a hostile flood of a log subject dropped the parent's connection: %d reconnects, status %v; the bus said:\n%s",
			n, b.Conn().Status(), said.lines("disconnected", "reconnected", "Slow Consumer"))
	}
	// The relay survived, and the loud child's records after the flood
	// all arrive.
	spam.reset(1000)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := lc.Call(cctx, "log", 1000, nil); err != nil {
		t.Fatal(err)
	}
	syncLogs(t, lc, spam)
	if runs, inOrder, _ := spam.result(); runs != 1 || inOrder != "" {
		t.Errorf("after the flood: %d runs of 1000 records, %q", runs, inOrder)
	}
	if n := b.Conn().Stats().Reconnects; n != 0 {
		t.Errorf("the parent's connection reconnected %d times in all", n)
	}
}

// syncLogs has the loud child log "hello" and waits until it is relayed:
// every record it logged before has been relayed too.
func syncLogs(t *testing.T, c *controller.Controller, s *spamCounter) {
	t.Helper()
	s.hello.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Call(ctx, "hello", nil, nil); err != nil {
		t.Fatalf("hello: %v", err)
	}
	for !s.hello.Load() {
		if ctx.Err() != nil {
			t.Fatal("the loud child's hello never came: its relay is dead")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// latencies are the durations of calls to the quiet child and how many
// failed.
type latencies struct {
	d      []time.Duration
	failed int
	first  error
}

// callQuiet calls c's "value" one after another for window, each with a
// budget of 2 s.
func callQuiet(c *controller.Controller, window time.Duration) *latencies {
	l := &latencies{}
	for end := time.Now().Add(window); time.Now().Before(end); {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t0 := time.Now()
		err := c.Call(ctx, "value", nil, nil)
		d := time.Since(t0)
		cancel()
		if err != nil {
			l.failed++
			if l.first == nil {
				l.first = err
			}
			continue
		}
		l.d = append(l.d, d)
	}
	slices.Sort(l.d)
	return l
}

func (l *latencies) at(q float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	return l.d[min(len(l.d)-1, int(q*float64(len(l.d))))]
}

func (l *latencies) String() string {
	return fmt.Sprintf("%d calls, %d failed (%v), p50 %v p99 %v max %v", len(l.d)+l.failed, l.failed, l.first,
		l.at(0.5).Round(10*time.Microsecond), l.at(0.99).Round(10*time.Microsecond), l.at(1).Round(10*time.Microsecond))
}

func (l *latencies) check(t *testing.T, when string) {
	t.Helper()
	if l.failed > 0 || len(l.d) == 0 {
		t.Errorf("calls to a quiet child %s: %s", when, l)
	}
}

// spamCounter is the loud child's parent handler: it checks that the
// "spam" records of each Counter.log call come whole and in order, and
// counts the WARN records (the relay's reports of drops and losses; the
// hostile flood's undecodable messages).
type spamCounter struct {
	mu       sync.Mutex
	runs     int
	next     int64 // i expected next; 0: between runs
	n        int64 // the records of a run
	disorder string
	warns    int
	hello    atomic.Bool
}

func (s *spamCounter) Enabled(context.Context, slog.Level) bool { return true }

func (s *spamCounter) Handle(_ context.Context, r slog.Record) error {
	switch {
	case r.Message == "hello":
		s.hello.Store(true)
		return nil
	case r.Level >= slog.LevelWarn:
		s.mu.Lock()
		s.warns++
		s.mu.Unlock()
		return nil
	case r.Message != "spam":
		return nil
	}
	var i int64 = -1
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "i" {
			i = a.Value.Int64()
			return false
		}
		return true
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case i == 0:
		if s.next != 0 && s.next != s.n && s.disorder == "" {
			s.disorder = fmt.Sprintf("run %d ended at i=%d", s.runs, s.next-1)
		}
		s.runs++
		s.next = 1
	case i != s.next && s.disorder == "":
		s.disorder = fmt.Sprintf("run %d: i=%d after i=%d", s.runs, i, s.next-1)
		s.next = i + 1
	default:
		s.next = i + 1
	}
	return nil
}

func (s *spamCounter) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *spamCounter) WithGroup(string) slog.Handler      { return s }

// reset starts counting again, runs of n records.
func (s *spamCounter) reset(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs, s.next, s.n, s.disorder, s.warns = 0, 0, n, "", 0
}

// result is the runs relayed, what was out of order or missing ("" for
// nothing) and the number of WARN records.
func (s *spamCounter) result() (runs int, disorder string, warns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	disorder = s.disorder
	if disorder == "" && s.next != 0 && s.next != s.n {
		disorder = fmt.Sprintf("the last run ended at i=%d of %d", s.next-1, s.n)
	}
	return s.runs, disorder, s.warns
}

// lockedBuffer keeps what a logger wrote.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines are the first 8 lines containing any of words.
func (b *lockedBuffer) lines(words ...string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range strings.Split(b.buf.String(), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out[:min(len(out), 8)], "\n")
}
