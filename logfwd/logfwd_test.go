package logfwd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/logfwd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// natsConn starts an in-process server and returns a connection to it.
func natsConn(t testing.TB) *nats.Conn {
	t.Helper()
	nc, _ := natsServer(t)
	return nc
}

func natsServer(t testing.TB) (*nats.Conn, *server.Server) {
	t.Helper()
	return natsServerWith(t, &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
}

// natsServerWith is natsServer with the server's options.
func natsServerWith(t testing.TB, opts *server.Options) (*nats.Conn, *server.Server) {
	t.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nc.Close()
		s.Shutdown()
		s.WaitForShutdown()
	})
	return nc, s
}

func TestHandlerPassesSlogtest(t *testing.T) {
	nc := natsConn(t)
	var sub *nats.Subscription
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		var err error
		subject := fmt.Sprintf("log.T%d", time.Now().UnixNano())
		if sub, err = nc.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		return logfwd.NewHandler(nc, subject, nil)
	}, func(t *testing.T) map[string]any {
		nc.Flush()
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sub.Unsubscribe()
		var rec map[string]any
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			t.Fatalf("%s: %v", m.Data, err)
		}
		return rec
	})
}

func TestDecodeRecordRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	when := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	rec := slog.NewRecord(when, slog.LevelWarn+2, "motor \"hot\"\n", 0)
	rec.AddAttrs(slog.Int("rpm", 4200), slog.Float64("temp", 93.5), slog.Bool("ok", false),
		slog.Group("ecu", slog.String("id", "7E0"), slog.Any("dids", []string{"F190"})),
		slog.Any("nil", nil), slog.Uint64("big", 1<<63), slog.String("ünï", "cödé"))
	if err := h.Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	got, err := logfwd.DecodeRecord(bytes.TrimSpace(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(when) || got.Level != slog.LevelWarn+2 || got.Message != rec.Message {
		t.Fatalf("got time %v level %v msg %q", got.Time, got.Level, got.Message)
	}
	// Re-encoding the decoded record gives the same JSON.
	var again bytes.Buffer
	if err := slog.NewJSONHandler(&again, &slog.HandlerOptions{Level: slog.LevelDebug}).Handle(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Fatalf("re-encoded:\n%s\nwant:\n%s", again.String(), buf.String())
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"not object", "[1]"},
		{"truncated", `{"msg":"x"`},
		{"bad key", `{1:2}`},
		{"trailing", `{"msg":"x"} x`},
		{"bad number", `{"n":1e}`},
		{"unterminated string", `{"msg":"x}`},
		{"deep", `{"a":` + string(bytes.Repeat([]byte(`{"a":`), 100))},
		{"control char", "{\"msg\":\"a\x01\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := logfwd.DecodeRecord([]byte(tc.in)); err == nil {
				t.Fatalf("DecodeRecord(%q) succeeded", tc.in)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-25T10:00:00Z","level":"INFO","msg":"hi","k":"v","g":{"a":1,"b":[1,"x"]}}`))
	f.Add([]byte(`{"msg":"\u00e9\n","n":-1.5e3,"t":true,"z":null}`))
	f.Add([]byte("{\"msg\":\"caf\xc3\xa9 \xff\",\"k\":\"\xe2\x82\",\"a\":\"\\\"\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := logfwd.DecodeRecord(data)
		if err != nil {
			return
		}
		// A decoded record re-encodes and decodes to the same message.
		var buf bytes.Buffer
		if err := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 100}).Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		again, err := logfwd.DecodeRecord(bytes.TrimSpace(buf.Bytes()))
		if err != nil {
			t.Fatalf("re-decode %s: %v", buf.Bytes(), err)
		}
		if again.Message != rec.Message || again.Level != rec.Level {
			t.Fatalf("message/level changed: %q/%v vs %q/%v", again.Message, again.Level, rec.Message, rec.Level)
		}
		// The message and string attributes read as encoding/json reads
		// them (escapes, invalid UTF-8 replaced).
		var ref map[string]any
		if json.Unmarshal(data, &ref) != nil {
			return
		}
		if msg, ok := ref[slog.MessageKey].(string); ok && rec.Message != msg {
			t.Fatalf("message %q, encoding/json reads %q", rec.Message, msg)
		}
		keys := map[string]int{} // a repeated key: encoding/json keeps the last
		rec.Attrs(func(a slog.Attr) bool { keys[a.Key]++; return true })
		rec.Attrs(func(a slog.Attr) bool {
			if s, ok := ref[a.Key].(string); ok && keys[a.Key] == 1 && a.Value.Kind() == slog.KindString && a.Value.String() != s {
				t.Fatalf("attribute %q: %q, encoding/json reads %q", a.Key, a.Value.String(), s)
			}
			return true
		})
	})
}

// collector records what a relay hands it.
type collector struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *collector) Enabled(context.Context, slog.Level) bool { return true }
func (c *collector) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.recs = append(c.recs, r.Clone())
	c.mu.Unlock()
	return nil
}
func (c *collector) WithAttrs(as []slog.Attr) slog.Handler { return &withAttrs{c, as} }
func (c *collector) WithGroup(string) slog.Handler         { return c }

type withAttrs struct {
	*collector
	as []slog.Attr
}

func (w *withAttrs) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(w.as...)
	return w.collector.Handle(ctx, r)
}

func TestRelayInOrderUntilEOF(t *testing.T) {
	nc, srv := natsServer(t)
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.X", col, slog.String("service", "X"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pub, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	h := logfwd.NewHandler(pub, "log.X", nil)
	l := slog.New(h)
	const n = 20000
	for i := range n {
		l.Info("rec", "i", i)
	}
	pub.Publish("log.X", []byte("not json"))
	endAndWait(t, h, r)
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.recs) != n+1 || r.Count() != n+1 || r.Bad() != 1 {
		t.Fatalf("relayed %d (count %d, bad %d), want %d", len(col.recs), r.Count(), r.Bad(), n+1)
	}
	for i, rec := range col.recs[:n] {
		var got int64 = -1
		var svc string
		rec.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "i":
				got = a.Value.Int64()
			case "service":
				svc = a.Value.String()
			}
			return true
		})
		if got != int64(i) || svc != "X" {
			t.Fatalf("record %d: i=%d service=%q", i, got, svc)
		}
	}
	if last := col.recs[n]; last.Level != slog.LevelWarn || last.Message != "undecodable log record" {
		t.Fatalf("bad message relayed as %v %q", last.Level, last.Message)
	}
}

// TestDropsAreReported: records that cannot be published while the
// connection is down and its reconnect buffer is full are counted, and the
// reader is told how many once the connection is back.
func TestDropsAreReported(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true}
	s1, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s1.Start()
	if !s1.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	port := s1.Addr().(*net.TCPAddr).Port
	reconnected := make(chan struct{}, 1)
	disconnected := make(chan struct{}, 1)
	pub, err := nats.Connect(s1.ClientURL(), nats.ReconnectBufSize(512), nats.ReconnectWait(10*time.Millisecond), nats.MaxReconnects(-1),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	h := logfwd.NewHandler(pub, "log.D", nil)
	l := slog.New(h)
	s1.Shutdown()
	s1.WaitForShutdown()
	<-disconnected
	for i := range 50 { // far more than 512 bytes of records
		l.Info("while down", "i", i)
	}
	if h.Dropped() == 0 {
		t.Fatal("nothing counted as dropped while the reconnect buffer overflowed")
	}
	s2, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s2.Start()
	defer func() { s2.Shutdown(); s2.WaitForShutdown() }()
	if !s2.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	sub, err := nats.Connect(s2.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	col := &collector{}
	r, err := logfwd.NewRelay(sub, "log.D", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnect")
	}
	l.Info("back")
	endAndWait(t, h, r)
	col.mu.Lock()
	defer col.mu.Unlock()
	var told int64
	for _, rec := range col.recs {
		if rec.Message == "log records dropped" {
			rec.Attrs(func(a slog.Attr) bool {
				if a.Key == "dropped" {
					told += a.Value.Int64()
				}
				return true
			})
		}
	}
	if told != h.Dropped() {
		t.Fatalf("reader told of %d dropped records, handler dropped %d", told, h.Dropped())
	}
	if last := col.recs[len(col.recs)-1]; last.Message != "back" {
		t.Fatalf("last record %q", last.Message)
	}
}

// TestRelayOrdersBySequence: messages that arrive out of order (a resend
// after a failover) are relayed in their publisher's order, once each.
func TestRelayOrdersBySequence(t *testing.T) {
	nc := natsConn(t)
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.S", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	send := func(seq string, body string, eof bool) {
		m := nats.NewMsg("log.S")
		m.Header.Set(logfwd.SeqHeader, seq)
		if eof {
			m.Header.Set(logfwd.EOFHeader, "1")
		}
		m.Data = []byte(body)
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(i int) string { return fmt.Sprintf(`{"msg":"r","i":%d}`, i) }
	send("1", rec(1), false)
	send("3", rec(3), false)
	send("2", rec(2), false)
	send("2", rec(2), false) // a duplicate from a resend
	send("1", rec(1), false)
	send("5", "", true) // end of log, after 4
	send("4", rec(4), false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	var got []int64
	for _, rec := range col.recs {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "i" {
				got = append(got, a.Value.Int64())
			}
			return true
		})
	}
	if fmt.Sprint(got) != "[1 2 3 4]" || r.Duplicates() != 2 || r.Lost() != 0 {
		t.Fatalf("relayed %v, duplicates %d, lost %d; want [1 2 3 4], 2, 0", got, r.Duplicates(), r.Lost())
	}
}

// TestResendAfterReconnect: Resend publishes the kept records again with
// their sequence numbers; a relay that has them already relays none twice.
func TestResend(t *testing.T) {
	nc := natsConn(t)
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.R", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandler(nc, "log.R", nil)
	l := slog.New(h)
	for i := range 100 {
		l.Info("r", "i", i)
	}
	n, err := h.Resend()
	if err != nil || n != 100 {
		t.Fatalf("Resend = %d, %v; want 100", n, err)
	}
	endAndWait(t, h, r)
	if r.Count() != 100 || r.Duplicates() != 100 {
		t.Fatalf("count %d duplicates %d; want 100 and 100", r.Count(), r.Duplicates())
	}
}

// countTo counts the records a relay hands it and says when it has want.
type countTo struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countTo) Enabled(context.Context, slog.Level) bool { return true }
func (c *countTo) Handle(context.Context, slog.Record) error {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
	return nil
}
func (c *countTo) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countTo) WithGroup(string) slog.Handler      { return c }

// BenchmarkHandlerToRelay: records/s from a Handler through an in-process
// server to a Relay on another connection (both ends in this process, so
// that one profile shows the child's and the parent's costs).
func BenchmarkHandlerToRelay(b *testing.B) {
	nc, srv := natsServer(b)
	pub, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	cnt := &countTo{want: int64(b.N), done: make(chan struct{})}
	r, err := logfwd.NewRelay(nc, "log.B", cnt, slog.String("service", "B"), slog.Int("pid", 1))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	l := slog.New(logfwd.NewHandler(pub, "log.B", nil))
	b.ResetTimer()
	for i := range b.N {
		l.Info("spam", "i", i)
	}
	<-cnt.done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecodeRecord(b *testing.B) {
	data := []byte(`{"time":"2026-11-25T10:00:00.123456789Z","level":"INFO","msg":"spam","i":12345,"ecu":"7E0"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := logfwd.DecodeRecord(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodeLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ok         bool
		msg        string
		level      slog.Level
	}{
		{"json record", `{"time":"2026-11-25T10:00:00Z","level":"WARN","msg":"bus disconnected","err":"EOF"}`, true, "bus disconnected", slog.LevelWarn},
		{"trailing newline and spaces", "  {\"level\":\"ERROR\",\"msg\":\"x\"}\r\n", true, "x", slog.LevelError},
		{"no level", `{"msg":"x"}`, false, "", 0},
		{"no msg", `{"level":"INFO"}`, false, "", 0},
		{"text record", `time=2026-11-25T10:00:00Z level=WARN msg="bus disconnected"`, false, "", 0},
		{"plain text", "plain stderr line", false, "", 0},
		{"panic", "panic: boom", false, "", 0},
		{"other json", `{"a":1}`, false, "", 0},
		{"truncated", `{"level":"INFO","msg":"x"`, false, "", 0},
		{"empty", "", false, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := logfwd.DecodeLine([]byte(tc.line))
			if ok != tc.ok || ok && (r.Message != tc.msg || r.Level != tc.level) {
				t.Fatalf("DecodeLine(%q) = %v %q, %v; want %v %q, %v", tc.line, r.Level, r.Message, ok, tc.level, tc.msg, tc.ok)
			}
		})
	}
}

// TestDecodeLineOfAJSONHandler: what slog.JSONHandler writes on a line
// comes back as the record it was.
func TestDecodeLineOfAJSONHandler(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	l.Warn("bus disconnected", "err", "EOF", slog.Group("g", "n", 2))
	r, ok := logfwd.DecodeLine(buf.Bytes())
	if !ok || r.Message != "bus disconnected" || r.Level != slog.LevelWarn || r.Time.IsZero() || r.NumAttrs() != 2 {
		t.Fatalf("DecodeLine(%s) = %v %q %v attrs %d, %v", buf.Bytes(), r.Level, r.Message, r.Time, r.NumAttrs(), ok)
	}
}

// End sends the marker without waiting for the server. A bgkit child
// whose parent holds its socket open then hangs up at once: every record
// and the marker still reach the relay. (Without the held copy the
// hang-up may reset the connection before the server has read it all.)
func TestEndThenHangUp(t *testing.T) {
	nc, srv := natsServer(t)
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.X", col, slog.String("service", "X"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	u, err := url.Parse(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	held, err := conn.(*net.TCPConn).File() // the parent's copy
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	pub, err := nats.Connect(srv.ClientURL(), nats.SetCustomDialer(givenConn{conn}), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	h := logfwd.NewHandler(pub, "log.X", nil)
	l := slog.New(h)
	const n = 20000
	for i := range n {
		l.Info("rec", "i", i)
	}
	if err := h.End(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil { // after End: nothing more to send
		t.Fatal(err)
	}
	pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Count() != n {
		t.Fatalf("relayed %d of %d", r.Count(), n)
	}
}

// givenConn hands nats.go one connection made beforehand.
type givenConn struct{ c net.Conn }

func (g givenConn) Dial(string, string) (net.Conn, error) { return g.c, nil }
