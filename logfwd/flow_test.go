package logfwd_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/logfwd"
)

// slowHandler takes a while a record and checks, at each, how far the
// publisher is ahead (published is counted by the test).
type slowHandler struct {
	per       time.Duration
	published *atomic.Int64
	handled   atomic.Int64
	maxAhead  atomic.Int64
	gate      chan struct{} // if not nil, Handle waits for it to close
	mu        sync.Mutex
	reports   []slog.Record // records that are not "r"
}

func (h *slowHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *slowHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "r" {
		h.mu.Lock()
		h.reports = append(h.reports, r.Clone())
		h.mu.Unlock()
		return nil
	}
	if h.gate != nil {
		<-h.gate
	}
	n := h.handled.Add(1)
	if ahead := h.published.Load() - n; ahead > h.maxAhead.Load() {
		h.maxAhead.Store(ahead)
	}
	if h.per > 0 && n%100 == 0 {
		time.Sleep(100 * h.per)
	}
	return nil
}
func (h *slowHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *slowHandler) WithGroup(string) slog.Handler      { return h }

func (h *slowHandler) dropped() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var d int64
	for _, r := range h.reports {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "dropped" {
				d += a.Value.Int64()
			}
			return true
		})
	}
	return d
}

// TestSlowHandlerPacesPublisher: a relay whose handler is slower than the
// publisher holds the publisher back: it is never much more than Window
// records ahead of the handler, and nothing is dropped.
func TestSlowHandlerPacesPublisher(t *testing.T) {
	// Window, plus the records between two acknowledgements, plus one
	// being logged.
	paceThroughSlowHandler(t, 20000, 20*time.Microsecond, "", logfwd.Window+logfwd.AckEvery+1)
}

// paceThroughSlowHandler logs n records (with attribute pad if not empty)
// to a relay whose handler takes per a record, and checks that all are
// handled, none dropped, no stall, and that the publisher was never more
// than maxAhead records ahead of the handler.
func paceThroughSlowHandler(t *testing.T, n int, per time.Duration, pad string, maxAhead int64) {
	t.Helper()
	nc, srv := natsServer(t)
	pub, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var published atomic.Int64
	h := &slowHandler{per: per, published: &published}
	r, err := logfwd.NewRelay(nc, "log.P", h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lh := logfwd.NewHandler(pub, "log.P", nil)
	l := slog.New(lh)
	for i := range n {
		if pad != "" {
			l.Info("r", "i", i, "pad", pad)
		} else {
			l.Info("r", "i", i)
		}
		published.Add(1)
	}
	endAndWait(t, lh, r)
	if h.handled.Load() != int64(n) || r.Dropped() != 0 || lh.Stalls() != 0 {
		t.Fatalf("handled %d of %d, dropped %d, stalls %d", h.handled.Load(), n, r.Dropped(), lh.Stalls())
	}
	if max := h.maxAhead.Load(); max > maxAhead {
		t.Fatalf("the publisher ran %d records ahead of the handler, want at most %d", max, maxAhead)
	}
}

// TestRelayQueueBoundDropsWithCount: records that do not fit the relay's
// queue while its handler is stuck are dropped, counted, and reported in
// their place; the relay goes on.
func TestRelayQueueBoundDropsWithCount(t *testing.T) {
	nc := natsConn(t)
	var published atomic.Int64
	gate := make(chan struct{})
	h := &slowHandler{published: &published, gate: gate}
	r, err := logfwd.NewRelayWith(nc, "log.Q", h, logfwd.RelayOptions{QueueRecords: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const n = 1000
	for i := range n { // no reply subject: nothing paces this publisher
		m := nats.NewMsg("log.Q")
		m.Header.Set(logfwd.SeqHeader, fmt.Sprint(i+1))
		m.Data = fmt.Appendf(nil, `{"level":"INFO","msg":"r","i":%d}`, i)
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	close(gate)
	eof := nats.NewMsg("log.Q")
	eof.Header.Set(logfwd.EOFHeader, "1")
	eof.Header.Set(logfwd.SeqHeader, fmt.Sprint(n+1))
	if err := nc.PublishMsg(eof); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatal(err)
	}
	// (What the client library still held when the gate opened may fit.)
	if got, d := h.handled.Load(), h.dropped(); got+d != n || d == 0 || d != r.Dropped() {
		t.Fatalf("handled %d, reported dropped %d (Dropped %d, lost %d): want a sum of %d, some dropped", got, d, r.Dropped(), r.Lost(), n)
	}
}

// TestRelayStopsLoudly: a relay whose connection is closed under it says
// so at ERROR.
func TestRelayStopsLoudly(t *testing.T) {
	_, srv := natsServer(t)
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	var published atomic.Int64
	h := &slowHandler{published: &published}
	r, err := logfwd.NewRelay(nc, "log.L", h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		var got *slog.Record
		for i := range h.reports {
			if h.reports[i].Level == slog.LevelError {
				got = &h.reports[i]
			}
		}
		h.mu.Unlock()
		if got != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no ERROR record after the relay's connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-25T10:00:00Z","level":"WARN","msg":"bus disconnected","err":"EOF"}`))
	f.Add([]byte("panic: boom"))
	f.Add([]byte(`{"level":"INFO"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, ok := logfwd.DecodeLine(line)
		if !ok {
			return
		}
		if _, err := logfwd.DecodeRecord(line); err != nil {
			t.Fatalf("DecodeLine accepted %q, DecodeRecord refuses it: %v (record %q)", line, err, r.Message)
		}
	})
}

// TestStuckHandlerThenRecordAfter: the handler is stuck while the
// publisher logs a burst (it waits StallWait, then goes on); once the
// handler is back, a record logged after the burst arrives, and every
// record of the burst is relayed or reported dropped or lost.
func TestStuckHandlerThenRecordAfter(t *testing.T) {
	nc, srv := natsServer(t)
	pub, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var published atomic.Int64
	gate := make(chan struct{})
	h := &slowHandler{published: &published, gate: gate}
	r, err := logfwd.NewRelay(nc, "log.S", h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lh := logfwd.NewHandler(pub, "log.S", nil)
	l := slog.New(lh)
	const n = 40000
	for i := range n {
		l.Info("r", "i", i)
	}
	close(gate)
	// Once the burst is all handled or counted as dropped, the relay has
	// room again: a record logged now arrives. (Logged while the relay
	// still works through its full queue, it may be dropped too, counted.)
	deadline := time.Now().Add(10 * time.Second)
	for h.handled.Load()+r.Dropped()+r.Lost() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the burst not accounted for: handled %d, dropped %d, lost %d", h.handled.Load(), r.Dropped(), r.Lost())
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.Info("after")
	for {
		h.mu.Lock()
		found := false
		for _, rec := range h.reports {
			found = found || rec.Message == "after"
		}
		h.mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record after the burst did not arrive: handled %d, dropped %d, lost %d, duplicates %d, stalls %d, publisher dropped %d",
				h.handled.Load(), r.Dropped(), r.Lost(), r.Duplicates(), lh.Stalls(), lh.Dropped())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.handled.Load() + r.Dropped() + r.Lost(); got != n {
		t.Fatalf("handled %d + dropped %d + lost %d = %d, want %d", h.handled.Load(), r.Dropped(), r.Lost(), got, n)
	}
}

// TestTwoRelaysPaceBySlowest: with two relays on one subject (an agent's
// and its requester's), the publisher keeps to the slower one's pace, so
// neither drops anything.
func TestTwoRelaysPaceBySlowest(t *testing.T) {
	nc, srv := natsServer(t)
	pub, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var published atomic.Int64
	fast := &slowHandler{published: &published}
	slow := &slowHandler{per: 100 * time.Microsecond, published: &published}
	var relays []*logfwd.Relay
	for _, h := range []*slowHandler{fast, slow} {
		r, err := logfwd.NewRelayWith(nc, "log.T", h, logfwd.RelayOptions{QueueRecords: 2 * logfwd.Window})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		relays = append(relays, r)
	}
	lh := logfwd.NewHandler(pub, "log.T", nil)
	l := slog.New(lh)
	const n = 20000
	for i := range n {
		l.Info("r", "i", i)
		published.Add(1)
	}
	if err := lh.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, r := range relays {
		if err := r.WaitEOF(ctx); err != nil {
			t.Fatal(err)
		}
		if r.Dropped() != 0 || r.Count() != n {
			t.Errorf("relay %d: relayed %d of %d, dropped %d", i, r.Count(), n, r.Dropped())
		}
	}
}

// gateHandler blocks on its first record "r" until gate is closed, after
// closing started.
type gateHandler struct {
	started, gate chan struct{}
	once          sync.Once
	mu            sync.Mutex
	got           []slog.Record
}

func (h *gateHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *gateHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "r" {
		h.once.Do(func() { close(h.started); <-h.gate })
	}
	h.mu.Lock()
	h.got = append(h.got, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *gateHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *gateHandler) WithGroup(string) slog.Handler      { return h }

// TestRelayCloseCountsWhatItHeld: records the relay received but had not
// handed over when Close came — those its worker had already taken from
// the queue included — are not relayed, and are reported dropped, once.
func TestRelayCloseCountsWhatItHeld(t *testing.T) {
	nc := natsConn(t)
	h := &gateHandler{started: make(chan struct{}), gate: make(chan struct{})}
	r, err := logfwd.NewRelay(nc, "log.C", h)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := range n {
		m := nats.NewMsg("log.C")
		m.Header.Set(logfwd.SeqHeader, fmt.Sprint(i+1))
		m.Data = fmt.Appendf(nil, `{"level":"INFO","msg":"r","i":%d}`, i)
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	<-h.started
	waitFor(t, "the relay holds every record", func() bool { return r.Queued() == n })
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	waitFor(t, "Close begins", r.Closing)
	close(h.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var relayed, reported int
	for _, rec := range h.got {
		switch rec.Message {
		case "r":
			relayed++
		default:
			rec.Attrs(func(a slog.Attr) bool {
				if a.Key == "dropped" {
					reported += int(a.Value.Int64())
				}
				return true
			})
		}
	}
	if relayed != 1 || reported != n-1 || r.Dropped() != n-1 {
		t.Fatalf("relayed %d, reported %d dropped (Dropped %d); want 1 and %d", relayed, reported, r.Dropped(), n-1)
	}
}

// waitFor polls cond (there is no event for it) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRelayQueueBytesBalanced: what the relay counts as queued returns to
// zero once all is handled, whatever the publisher sent — end-of-log
// markers with a body included. A hostile child that sent large markers
// must not widen its relay's byte bound for the records after them.
func TestRelayQueueBytesBalanced(t *testing.T) {
	nc := natsConn(t)
	h := &countHandler{}
	r, err := logfwd.NewRelay(nc, "log.B", h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body := bytes.Repeat([]byte("x"), 900)
	for range 20 {
		m := nats.NewMsg("log.B")
		m.Header.Set(logfwd.EOFHeader, "1")
		m.Data = body
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish("log.B", []byte(`{"level":"INFO","msg":"r"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every record handled", func() bool { return h.n.Load() == 20 && r.Queued() == 0 })
	if b := r.QueuedBytes(); b != 0 {
		t.Fatalf("the relay counts %d bytes queued with nothing queued, want 0", b)
	}
}

type countHandler struct{ n atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h *countHandler) WithGroup(string) slog.Handler             { return h }

// TestSlowHandlerPacesLargeRecords: with records of 4 KiB, far fewer
// than Window of them fill the relay's queue bytes (DefaultQueueBytes):
// the publisher is paced by bytes as well (WindowBytes), and a slow
// handler loses none of them.
func TestSlowHandlerPacesLargeRecords(t *testing.T) {
	const size = 4 << 10
	// 12,000 records: 48 MiB, three relay queues.
	paceThroughSlowHandler(t, 12000, 50*time.Microsecond, string(bytes.Repeat([]byte("x"), size)),
		int64(logfwd.WindowBytes/size+logfwd.AckEvery+1))
}
