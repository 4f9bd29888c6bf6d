package logfwd

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// FuzzCutRecord: whatever the record, what cutRecord makes fits the limit
// and reads back as a record.
func FuzzCutRecord(f *testing.F) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, nil)
	r := slog.NewRecord(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), slog.LevelError, "dump", 0)
	r.AddAttrs(slog.String("a", strings.Repeat("\x00\"é", 300)), slog.Group("g", "x", strings.Repeat("y", 900), "n", 1), slog.Int("k", 7))
	_ = h.Handle(context.Background(), r)
	f.Add(bytes.TrimSpace(buf.Bytes()), uint16(1100))
	f.Add([]byte(`{"level":"INFO","msg":"`+strings.Repeat("m", 2000)+`"}`), uint16(400))
	f.Add([]byte(strings.Repeat("not a record ", 100)), uint16(300))
	f.Fuzz(func(t *testing.T, b []byte, limit uint16) {
		out, ok := cutRecord(b, int(limit))
		if !ok {
			if limit >= 1024 {
				t.Fatalf("not cut to fit %d: %d bytes", limit, len(out))
			}
			return
		}
		if len(out) > int(limit) {
			t.Fatalf("cut to %d bytes, over the limit %d", len(out), limit)
		}
		if _, ok := DecodeLine(out); !ok {
			t.Fatalf("cut record does not read back: %q", out)
		}
	})
}
