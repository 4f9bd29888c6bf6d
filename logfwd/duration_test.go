package logfwd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/bgkit/bgkit/logfwd"
)

// TestHandlerDurationsAsText: a duration travels as "5s", at the top level
// and in groups, and a caller's ReplaceAttr still applies after it.
func TestHandlerDurationsAsText(t *testing.T) {
	nc := natsConn(t)
	sub, err := nc.SubscribeSync("log.DUR")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	upper := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "shout" {
			a.Value = slog.StringValue(a.Value.String() + "!")
		}
		return a
	}
	l := slog.New(logfwd.NewHandler(nc, "log.DUR", &slog.HandlerOptions{ReplaceAttr: upper}))
	l.Info("timing", "s3", 5*time.Second, slog.Group("g", "p2", 1500*time.Microsecond), "shout", "hi", "n", 7)
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		S3    string              `json:"s3"`
		G     struct{ P2 string } `json:"g"`
		Shout string              `json:"shout"`
		N     int                 `json:"n"`
	}
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatalf("%s: %v", m.Data, err)
	}
	if got.S3 != "5s" || got.G.P2 != "1.5ms" || got.Shout != "hi!" || got.N != 7 {
		t.Fatalf("record %s", m.Data)
	}
}

// TestHandlerWritesWhatJSONHandlerWrites: the bytes a record travels as
// are slog.NewJSONHandler's for it (levels included, custom ones too),
// and a caller's ReplaceAttr still sees the level as a slog.Level.
func TestHandlerWritesWhatJSONHandlerWrites(t *testing.T) {
	nc := natsConn(t)
	sub, err := nc.SubscribeSync("log.SAME")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	var sawLevel []slog.Level
	seen := func(_ []string, a slog.Attr) slog.Attr {
		if l, ok := a.Value.Any().(slog.Level); ok && a.Key == slog.LevelKey {
			sawLevel = append(sawLevel, l)
		}
		return a
	}
	h := logfwd.NewHandler(nc, "log.SAME", &slog.HandlerOptions{Level: slog.LevelDebug - 4, ReplaceAttr: seen})
	at := time.Date(2026, 12, 1, 15, 30, 0, 123456789, time.UTC)
	levels := []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelInfo + 2, slog.LevelWarn, slog.LevelError, slog.LevelError + 4}
	for _, l := range levels {
		rec := slog.NewRecord(at, l, "m", 0)
		rec.AddAttrs(slog.Int("i", 1), slog.String("s", "x\"y"), slog.Group("g", slog.Bool("b", true)))
		if err := h.Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug - 4}).Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(m.Data) + "\n"; got != want.String() {
			t.Errorf("level %v: sent %s, slog.JSONHandler writes %s", l, got, want.String())
		}
	}
	if len(sawLevel) != len(levels) {
		t.Errorf("the caller's ReplaceAttr saw the level as a slog.Level %d times, want %d", len(sawLevel), len(levels))
	}
}

// slowDuration is a LogValuer that resolves to a duration.
type slowDuration time.Duration

func (d slowDuration) LogValue() slog.Value { return slog.DurationValue(time.Duration(d)) }

// timings is a LogValuer that resolves to a group holding a duration.
type timings struct{}

func (timings) LogValue() slog.Value {
	return slog.GroupValue(slog.Duration("wait", 2*time.Millisecond), slog.Any("again", slowDuration(3*time.Second)))
}

// TestHandlerDurationsWithoutReplaceAttr: without a caller's ReplaceAttr
// the handler makes durations text itself, before the JSON handler; the
// bytes are what slog.JSONHandler writes with a ReplaceAttr that does only
// that, wherever the duration is: an attribute, in a group, in an inline
// group, behind a LogValuer, in WithAttrs, under WithGroup.
func TestHandlerDurationsWithoutReplaceAttr(t *testing.T) {
	nc := natsConn(t)
	sub, err := nc.SubscribeSync("log.PLAIN")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	asText := func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}
	var want bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}
	ref := slog.Handler(slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: opts.Level, AddSource: true, ReplaceAttr: asText}))
	got := slog.Handler(logfwd.NewHandler(nc, "log.PLAIN", opts))
	at := time.Date(2026, 12, 2, 1, 2, 3, 4, time.UTC)
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	rec := func(l slog.Level, msg string, args ...any) slog.Record {
		r := slog.NewRecord(at, l, msg, pcs[0])
		r.Add(args...)
		return r
	}
	same := func(h slog.Handler) slog.Handler { return h }
	steps := []struct {
		with func(slog.Handler) slog.Handler
		rec  slog.Record
	}{
		{same, rec(slog.LevelInfo, "none", "i", 1, "s", "x\"y\u2028<&>", "f", 1.5, "b", true, "t", at, "u", uint64(1<<63))},
		{same, rec(slog.LevelInfo, "top", "d", 1500*time.Millisecond, "n", 7)},
		{same, rec(slog.LevelWarn, "group", slog.Group("g", "d", time.Minute, slog.Group("h", "d", -time.Nanosecond)), slog.Group("empty"))},
		{same, rec(slog.LevelDebug, "inline", slog.Group("", "d", 2*time.Hour), "after", 1)},
		{same, rec(slog.LevelError+2, "valuer", "v", slowDuration(time.Second), "t", timings{})},
		{same, rec(slog.LevelInfo, "many", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", 6, "g", time.Second)},
		{func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Duration("w", 5*time.Second), slog.String("k", "v")})
		}, rec(slog.LevelInfo, "with", "d", time.Millisecond)},
		{func(h slog.Handler) slog.Handler {
			return h.WithGroup("req").WithAttrs([]slog.Attr{slog.Duration("lat", 3*time.Microsecond)}).WithGroup("inner")
		}, rec(slog.LevelInfo, "grouped", "d", 0*time.Second)},
		{func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Group("g", "v", timings{}), slog.Any("v", slowDuration(time.Hour))})
		}, rec(slog.LevelInfo, "with group")},
		{same, rec(slog.LevelInfo, "any", "a", []time.Duration{time.Second}, "m", map[string]any{"d": time.Second})},
	}
	for i, st := range steps {
		want.Reset()
		if err := st.with(ref).Handle(context.Background(), st.rec); err != nil {
			t.Fatal(err)
		}
		if err := st.with(got).Handle(context.Background(), st.rec); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if g := string(m.Data) + "\n"; g != want.String() {
			t.Errorf("step %d: sent\n  %s\nslog.JSONHandler with durations as text writes\n  %s", i, g, want.String())
		}
	}
}
