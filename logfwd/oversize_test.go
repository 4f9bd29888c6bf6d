package logfwd_test

import (
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/logfwd"
)

// TestOversizedRecordIsCut: a record larger than the server takes in one
// message (a dump logged as an attribute) reaches the relay cut to fit,
// at its own level, with its message and its other attributes, and says
// what was cut. It is not counted as dropped: nothing was lost that the
// reader is not told of in the record itself.
func TestOversizedRecordIsCut(t *testing.T) {
	const limit = 8 << 10
	nc := limitedConn(t, limit)
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.O", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandler(nc, "log.O", nil)
	l := slog.New(h)
	dump := strings.Repeat("0123456789abcdef", 4*limit/16) // 4× the limit
	l.Info("before")
	l.Error("frame dump", "ecu", "BCM", "dump", dump, "frames", 4096, slog.Group("g", "k", "v"))
	l.Info("after")
	endAndWait(t, h, r)
	if d := h.Dropped(); d != 0 {
		t.Errorf("Dropped() = %d, want 0", d)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	var msgs []string
	for _, rec := range col.recs {
		msgs = append(msgs, rec.Message)
	}
	if strings.Join(msgs, "|") != "before|frame dump|after" {
		t.Fatalf("relayed %q, want before, frame dump, after (and no drop report)", msgs)
	}
	rec := col.recs[1]
	if rec.Level != slog.LevelError {
		t.Errorf("level %v, want ERROR", rec.Level)
	}
	got := map[string]slog.Value{}
	rec.Attrs(func(a slog.Attr) bool { got[a.Key] = a.Value; return true })
	if f := got["frames"]; got["ecu"].String() != "BCM" || f.Kind() != slog.KindInt64 || f.Int64() != 4096 {
		t.Errorf("small attributes lost: %v", got)
	}
	if g := got["g"]; g.Kind() != slog.KindGroup || len(g.Group()) != 1 || g.Group()[0].Value.String() != "v" {
		t.Errorf("group g = %v", g)
	}
	d := got["dump"].String()
	if len(d) == 0 || len(d) >= len(dump) || !strings.HasPrefix(dump, strings.TrimSuffix(d, "…")) {
		t.Errorf("dump: %d bytes (of %d), want its head", len(d), len(dump))
	}
	if n := got["record_bytes"].Int64(); n <= int64(len(dump)) {
		t.Errorf("record_bytes = %d, want the record's size (> %d)", n, len(dump))
	}
	if n := got["record_cut_bytes"].Int64(); n <= 0 {
		t.Errorf("record_cut_bytes = %d, want how much was cut", n)
	}
}

// TestOversizedRecordNotARecord: a handler whose ReplaceAttr renamed the
// built-in keys writes what the cut cannot read back; its head is kept as
// text, in a WARN record that says so.
func TestOversizedRecordNotARecord(t *testing.T) {
	const limit = 4 << 10
	nc := limitedConn(t, limit)
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.N", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandler(nc, "log.N", &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.MessageKey {
			a.Key = "message"
		}
		return a
	}})
	slog.New(h).Info("big", "blob", strings.Repeat("é", limit))
	endAndWait(t, h, r)
	if d := h.Dropped(); d != 0 {
		t.Errorf("Dropped() = %d, want 0", d)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.recs) != 1 {
		t.Fatalf("relayed %d records, want 1", len(col.recs))
	}
	rec := col.recs[0]
	var head string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "record_head" {
			head = a.Value.String()
		}
		return true
	})
	if rec.Level != slog.LevelWarn || !strings.Contains(head, `"message":"big"`) || !utf8.ValidString(head) {
		t.Fatalf("relayed %v %q, head %.80q: want a WARN with the record's head", rec.Level, rec.Message, head)
	}
}

// limitedConn is an in-process connection to a server that takes messages
// of up to limit bytes.
func limitedConn(t *testing.T, limit int32) *nats.Conn {
	t.Helper()
	nc, _ := natsServerWith(t, &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true, MaxPayload: limit})
	return nc
}
