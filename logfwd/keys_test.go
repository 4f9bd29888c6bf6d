package logfwd_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/logfwd"
)

// jsonLine is what slog.NewJSONHandler writes for one record.
func jsonLine(t *testing.T, f func(l *slog.Logger)) []byte {
	t.Helper()
	var buf bytes.Buffer
	f(slog.New(slog.NewJSONHandler(&buf, nil)))
	return bytes.TrimSpace(buf.Bytes())
}

func attrsOf(r slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
	return m
}

// An attribute called level, msg or time (slog writes it after the
// record's own) is an attribute: it does not replace the record's level,
// message or time.
func TestAttrsNamedLikeTheRecordsOwnKeys(t *testing.T) {
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	line := jsonLine(t, func(l *slog.Logger) {
		l.Error("disk full", "level", "DEBUG", "msg", "config reloaded", "time", when)
	})
	rec, err := logfwd.DecodeRecord(line)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Level != slog.LevelError || rec.Message != "disk full" || rec.Time.Equal(when) {
		t.Errorf("%s\ndecoded as level=%v msg=%q time=%v; want ERROR \"disk full\" and the record's time", line, rec.Level, rec.Message, rec.Time)
	}
	a := attrsOf(rec)
	for _, k := range []string{"level", "msg", "time"} {
		if _, ok := a[k]; !ok {
			t.Errorf("attribute %q lost; attrs: %v", k, a)
		}
	}
}

// A time or level that does not parse stays an attribute under its own
// key, also when its string has escapes.
func TestUnparsableTimeOrLevelKeepsItsKey(t *testing.T) {
	for line, want := range map[string]string{
		`{"time":"yesterday\tnoon","level":"INFO","msg":"m"}`: "time=yesterday\tnoon",
		`{"level":"LOUD \"very\"","msg":"m"}`:                 `level=LOUD "very"`,
	} {
		rec, err := logfwd.DecodeRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		rec.Attrs(func(a slog.Attr) bool { got = append(got, a.Key+"="+a.Value.String()); return true })
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: attrs %q, want %q", line, got, want)
		}
	}
}

// An attribute whose value is an empty object (an empty map or struct
// logged with slog.Any) is kept; an empty group would be dropped.
func TestEmptyObjectAttrIsKept(t *testing.T) {
	line := jsonLine(t, func(l *slog.Logger) { l.Info("m", "labels", map[string]string{}, "n", 1) })
	rec, err := logfwd.DecodeRecord(line)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := attrsOf(rec)["labels"]; !ok {
		t.Errorf("%s: attribute labels lost: %v", line, attrsOf(rec))
	}
}

// End to end: a child's ERROR record with an attribute "level" reaches
// the parent at ERROR, not filtered out at the attribute's level.
func TestRelayKeepsTheLevelOfARecordWithALevelAttr(t *testing.T) {
	nc := natsConn(t)
	var out bytes.Buffer
	parent := slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})
	r, err := logfwd.NewRelay(nc, "log.L", parent)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandler(nc, "log.L", nil)
	slog.New(h).Error("flash write failed", "level", "debug") // e.g. the verbosity configured
	endAndWait(t, h, r)
	if !bytes.Contains(out.Bytes(), []byte(`"level":"ERROR","msg":"flash write failed"`)) {
		t.Fatalf("parent's log: %q; want the ERROR record", out.String())
	}
}

// A record on the subject whose reply subject is another inbox than the
// publisher's (RelayOptions.Inbox) takes none of the publisher's sequence
// numbers: the publisher's own record 1 is relayed, not dropped as a
// duplicate.
func TestForgedSequenceDoesNotEatARecord(t *testing.T) {
	nc := natsConn(t)
	col := &collector{}
	const inbox = "_INBOX.pub1"
	r, err := logfwd.NewRelayWith(nc, "log.F", col, logfwd.RelayOptions{Inbox: inbox})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := nc.PublishRequest("log.F", "_INBOX.someoneelse.1", []byte(`{"msg":"forged"}`)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	h := logfwd.NewHandlerInbox(nc, "log.F", inbox, nil)
	l := slog.New(h)
	l.Info("real", "i", 1)
	l.Info("real", "i", 2)
	endAndWait(t, h, r)
	col.mu.Lock()
	defer col.mu.Unlock()
	var got []string
	for _, rec := range col.recs {
		s := rec.Message
		rec.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		got = append(got, s)
	}
	for _, want := range []string{"real i=1", "real i=2"} {
		if !slices.Contains(got, want) {
			t.Errorf("relayed %q (duplicates %d, dropped %d, lost %d): %q is gone", got, r.Duplicates(), r.Dropped(), r.Lost(), want)
		}
	}
}

// endAndWait closes h and waits until r has relayed its end-of-log marker.
func endAndWait(t *testing.T, h *logfwd.Handler, r *logfwd.Relay) {
	t.Helper()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatal(err)
	}
}

// An end-of-log marker without a sequence number, on the subject of a
// publisher whose records are numbered, does not end the log: the records
// after it are still the publisher's, and WaitEOF waits for its own
// marker. The stray marker is relayed as a WARN record.
func TestStrayMarkerDoesNotEndTheLog(t *testing.T) {
	nc := natsConn(t)
	second := make(chan struct{})
	col := &notifying{msg: "real", at: 2, reached: second}
	const inbox = "_INBOX.pub2"
	r, err := logfwd.NewRelayWith(nc, "log.S", col, logfwd.RelayOptions{Inbox: inbox})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandlerInbox(nc, "log.S", inbox, nil)
	l := slog.New(h)
	l.Info("real", "i", 1)
	if err := nc.PublishMsg(&nats.Msg{Subject: "log.S", Header: nats.Header{logfwd.EOFHeader: {"1"}}}); err != nil {
		t.Fatal(err)
	}
	l.Info("real", "i", 2)
	// The relay hands records over in order: had the stray marker ended
	// the log, EOF would be closed by the time the next record comes.
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the record after the stray marker was not relayed")
	}
	select {
	case <-r.EOF():
		t.Fatal("the stray marker ended the log")
	default:
	}
	endAndWait(t, h, r)
	col.mu.Lock()
	defer col.mu.Unlock()
	var got []string
	for _, rec := range col.recs {
		got = append(got, rec.Level.String()+" "+rec.Message)
	}
	want := []string{"INFO real", "WARN end-of-log marker without a sequence number: ignored", "INFO real"}
	if !slices.Equal(got, want) {
		t.Fatalf("relayed %q, want %q", got, want)
	}
}

// notifying is a collector that closes reached at the at-th record with
// the message msg.
type notifying struct {
	collector
	msg     string
	at, n   int
	reached chan struct{}
}

func (n *notifying) Handle(ctx context.Context, r slog.Record) error {
	_ = n.collector.Handle(ctx, r)
	n.mu.Lock()
	defer n.mu.Unlock()
	if r.Message == n.msg {
		if n.n++; n.n == n.at {
			close(n.reached)
		}
	}
	return nil
}
