package testerpresent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds/isotp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait of a test, so a hang fails instead of
// blocking the run.
const waitTimeout = 10 * time.Second

// testCtx ends when the test ends or after waitTimeout.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// harness is a service served in-process.
type harness struct {
	svc  *TesterPresentService
	tp   *Controller
	logs *logSink
}

// serve serves a service made from args on b until the test ends, with
// its logs going to a sink.
func serve(tb testing.TB, b *bus.Bus, args Args) *harness {
	tb.Helper()
	logs := newLogSink()
	svc, err := newService(args, slog.New(logs), systemClock)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	bgkittest.Serve(tb, b, svc, service.WithLogger(slog.New(logs)))
	tp, err := Connect(testCtx(tb), b, "")
	if err != nil {
		tb.Fatal(err)
	}
	return &harness{svc: svc, tp: tp, logs: logs}
}

// stats calls the stats method.
func (h *harness) stats(tb testing.TB) Stats {
	tb.Helper()
	st, err := h.tp.Stats(testCtx(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// waitStats polls stats until cond holds.
func (h *harness) waitStats(tb testing.TB, what string, cond func(Stats) bool) Stats {
	tb.Helper()
	var st Stats
	poll(tb, what, func() bool {
		st = h.stats(tb)
		return cond(st)
	}, func() string { return fmt.Sprintf("stats %+v", st) })
	return st
}

// poll checks cond every 2 ms until it holds, for conditions that have no
// event to wait on; it fails the test after waitTimeout, with state() in
// the message.
func poll(tb testing.TB, what string, cond func() bool, state func() string) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; %s", what, state())
		}
		<-tick.C
	}
}

// openNode attaches a node to the virtual bus name; it is closed when the
// test ends.
func openNode(tb testing.TB, b *bus.Bus, spec string) can.Bus {
	tb.Helper()
	n, err := can.Open(testCtx(tb), spec, can.WithNATS(b.Conn()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}

// recvFrame receives the next frame on n.
func recvFrame(tb testing.TB, n can.Bus) can.Received {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r, err := n.Recv(ctx)
	if err != nil {
		tb.Fatalf("receive a frame: %v", err)
	}
	return r
}

// marker is a frame the tests send after stopping the service: all
// nodes of a test share one NATS connection, so it arrives after every
// frame the service sent before.
var marker = can.Frame{ID: 0x123, Len: 1}

// countUntilMarker sends marker from another node and counts the frames n
// receives before it.
func countUntilMarker(tb testing.TB, b *bus.Bus, n can.Bus, spec string) int {
	tb.Helper()
	if err := openNode(tb, b, spec).Send(testCtx(tb), marker); err != nil {
		tb.Fatal(err)
	}
	count := 0
	for {
		r := recvFrame(tb, n)
		if r.Frame == marker {
			return count
		}
		count++
	}
}

// respond answers every request on the virtual bus spec received on
// rxID with answer(req) sent on txID (nothing when answer returns nil),
// until the test ends.
func respond(tb testing.TB, b *bus.Bus, spec string, rxID, txID uint32, answer func([]byte) []byte) {
	tb.Helper()
	node := openNode(tb, b, spec)
	conn, err := isotp.New(node, isotp.Config{TxID: txID, RxID: rxID})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			req, err := conn.Recv(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, isotp.ErrClosed) {
					tb.Errorf("responder: %v", err)
				}
				return
			}
			if resp := answer(req); resp != nil {
				if err := conn.Send(ctx, resp); err != nil && ctx.Err() == nil {
					tb.Errorf("responder: %v", err)
				}
			}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		conn.Close()
	})
}

// logSink is a slog.Handler that keeps records for assertions.
type logSink struct {
	mu      sync.Mutex
	records []slog.Record
	changed chan struct{} // closed and replaced on each record
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

// all returns the records so far.
func (l *logSink) all() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// wait waits for a record at level whose message is msg.
func (l *logSink) wait(tb testing.TB, level slog.Level, msg string) slog.Record {
	tb.Helper()
	return l.waitFunc(tb, level.String()+" "+msg, func(r slog.Record) bool {
		return r.Level == level && r.Message == msg
	})
}

// waitFunc waits for a record that matches pred.
func (l *logSink) waitFunc(tb testing.TB, what string, pred func(slog.Record) bool) slog.Record {
	tb.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		l.mu.Lock()
		for _, r := range l.records {
			if pred(r) {
				l.mu.Unlock()
				return r
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-timeout.C:
			tb.Fatalf("no record %s; got %d records", what, len(l.all()))
		}
	}
}

// attr returns the value of the attribute key of r.
func attr(r slog.Record, key string) (slog.Value, bool) {
	var v slog.Value
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v, found = a.Value, true
			return false
		}
		return true
	})
	return v, found
}
