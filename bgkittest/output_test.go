package bgkittest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"testing/slogtest"
	"time"
)

func TestFormatLine(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := func(level slog.Level, msg string, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(at, level, msg, 0)
		r.AddAttrs(attrs...)
		return r
	}
	tests := []struct {
		name   string
		prefix string
		r      slog.Record
		want   string
	}{
		{name: "service and pid", r: rec(slog.LevelInfo, "hello", slog.String("service", "COUNTER_SERVICE"), slog.Int("pid", 123), slog.String("k", "v")),
			want: "COUNTER_SERVICE INFO hello pid=123 k=v"},
		{name: "no attributes", prefix: "bus", r: rec(slog.LevelWarn, "slow consumer"), want: "bus WARN slow consumer"},
		{name: "no name", r: rec(slog.LevelError, "x", slog.Bool("ok", false)), want: "ERROR x ok=false"},
		{name: "level offset and quoting", r: rec(slog.LevelInfo+2, "msg with spaces", slog.String("service", "S"), slog.String("path", "a b"), slog.String("level", "mine")),
			want: `S INFO+2 msg with spaces path="a b" level=mine`},
		{name: "group", r: rec(slog.LevelDebug, "m", slog.String("service", "S"), slog.Group("req", slog.Int("n", 1), slog.String("id", "x"))),
			want: "S DEBUG m req.n=1 req.id=x"},
		{name: "second service attribute is kept", r: rec(slog.LevelInfo, "m", slog.String("service", "S"), slog.String("service", "T")),
			want: "S INFO m service=T"},
		{name: "trace as a block", r: rec(slog.LevelError, "panic: boom", slog.String("service", "S"), slog.String("stream", "stderr"),
			slog.String("trace", "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n")),
			want: "S ERROR panic: boom stream=stderr\n  trace:\n    panic: boom\n    \n    goroutine 1 [running]:\n    main.main()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatLine(tt.r, tt.prefix); got != tt.want {
				t.Errorf("formatLine =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestRecordHandler checks the handler against the slog handler rules,
// through the records it hands its recorder.
func TestRecordHandler(t *testing.T) {
	var rec *LogRecorder
	slogtest.Run(t, func(*testing.T) slog.Handler {
		rec = newLogRecorder()
		return &recordHandler{s: &sinks{level: slog.LevelDebug, rec: rec}}
	}, func(t *testing.T) map[string]any {
		recs := rec.Records()
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		r := recs[0]
		m := map[string]any{slog.LevelKey: r.Level, slog.MessageKey: r.Message}
		if !r.Time.IsZero() {
			m[slog.TimeKey] = r.Time
		}
		r.Attrs(func(a slog.Attr) bool {
			addAttr(m, a)
			return true
		})
		return m
	})
}

func addAttr(m map[string]any, a slog.Attr) {
	if a.Value.Kind() != slog.KindGroup {
		m[a.Key] = a.Value.Any()
		return
	}
	g := map[string]any{}
	for _, ga := range a.Value.Group() {
		addAttr(g, ga)
	}
	m[a.Key] = g
}

func TestRecordHandlerLevel(t *testing.T) {
	h := &recordHandler{s: &sinks{level: slog.LevelWarn}}
	for _, tt := range []struct {
		level slog.Level
		want  bool
	}{{slog.LevelDebug, false}, {slog.LevelInfo, false}, {slog.LevelWarn, true}, {slog.LevelError, true}} {
		if got := h.Enabled(context.Background(), tt.level); got != tt.want {
			t.Errorf("Enabled(%v) = %v, want %v", tt.level, got, tt.want)
		}
	}
}

// cleanupTB records output and cleanups.
type cleanupTB struct {
	testing.TB
	out      bytes.Buffer
	cleanups []func()
}

func (c *cleanupTB) Output() io.Writer { return &c.out }
func (c *cleanupTB) Cleanup(f func())  { c.cleanups = append(c.cleanups, f) }
func (c *cleanupTB) runCleanups() {
	for _, f := range slices.Backward(c.cleanups) {
		f()
	}
}

// TestOutputStopsAtCleanup checks that records relayed after the test's
// cleanups have run are not written: testing panics on such output.
func TestOutputStopsAtCleanup(t *testing.T) {
	tb := &cleanupTB{TB: t}
	logger := slog.New(&recordHandler{s: &sinks{level: slog.LevelInfo, out: newTestOutput(tb, false)}})
	logger.Info("during", "service", "S")
	tb.runCleanups()
	logger.Info("after", "service", "S")
	if got, want := tb.out.String(), "S INFO during\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// failingTB is a cleanupTB whose failure the test sets.
type failingTB struct {
	cleanupTB
	failed atomic.Bool
}

func (f *failingTB) Failed() bool { return f.failed.Load() }

// TestOutputHoldsLineDuringFatal checks the moment t.Fatalf is in: its
// message written, the test not yet marked failed. A child's line that
// arrives then is not written before it has settled; by then the failure
// is marked, and the line is held for the heading, not written loose
// after the failure message.
func TestOutputHoldsLineDuringFatal(t *testing.T) {
	tb := &failingTB{cleanupTB: cleanupTB{TB: t}}
	out := newTestOutput(tb, true)
	out.settle = time.Hour // the settler never decides: release does
	out.writeLine("S INFO before")
	out.flushNow() // the test saw it (a LogRecorder handed it over): written
	io.WriteString(&tb.out, "fatal message\n")
	out.writeLine("S INFO during the fatal")
	tb.failed.Store(true)
	out.writeLine("S INFO after")
	out.release("S")
	tb.runCleanups()
	want := "S INFO before\nfatal message\n" +
		"bgkittest: 2 record(s) of S reached the test after it had failed; they may explain the failure:\n" +
		"  S INFO during the fatal\n  S INFO after\n"
	if got := tb.out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// TestOutputWritesSettledLine checks that a line of a test that has not
// failed is written once it has settled, by the settler alone.
func TestOutputWritesSettledLine(t *testing.T) {
	tb := &failingTB{cleanupTB: cleanupTB{TB: t}}
	out := newTestOutput(tb, true)
	out.settle = time.Millisecond
	out.writeLine("S INFO live")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.mu.Lock()
		got := tb.out.String()
		out.mu.Unlock()
		if got == "S INFO live\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("output %q after 10 s, want the line", got)
		}
		time.Sleep(time.Millisecond)
	}
	tb.runCleanups()
}
