package logfwd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
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
