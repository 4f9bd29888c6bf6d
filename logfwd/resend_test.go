package logfwd_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/logfwd"
)

// TestRelayAsksForAGap: a gap in the sequence makes the relay ask the
// publisher (on its inbox) to resend from the first missing number at
// once, not after the gap timer.
func TestRelayAsksForAGap(t *testing.T) {
	nc := natsConn(t)
	asks, err := nc.SubscribeSync("_INBOX.pub.resend")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	r, err := logfwd.NewRelay(nc, "log.G", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	send := func(seq int) {
		if err := nc.PublishRequest("log.G", fmt.Sprintf("_INBOX.pub.%d", seq), fmt.Appendf(nil, `{"msg":"r","i":%d}`, seq)); err != nil {
			t.Fatal(err)
		}
	}
	send(1)
	send(2)
	send(4)
	m, err := asks.NextMsg(2 * time.Second) // the gap timer gives up after 3 s
	if err != nil {
		t.Fatalf("no resend request: %v", err)
	}
	if string(m.Data) != "3" {
		t.Fatalf("resend request from %q, want 3", m.Data)
	}
	send(3)
	eof := nats.NewMsg("log.G")
	eof.Header.Set(logfwd.EOFHeader, "1")
	eof.Header.Set(logfwd.SeqHeader, "5")
	if err := nc.PublishMsg(eof); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Count() != 4 || r.Lost() != 0 {
		t.Fatalf("relayed %d, lost %d; want 4 and 0", r.Count(), r.Lost())
	}
}

// TestRelayRecoversWhatItMissedReconnecting: the server dies; the
// publisher reconnects first and flushes what it buffered meanwhile before
// the relay's subscription is back, so those records reach nobody. The
// relay asks for them after its own reconnect and gets them all, before
// its gap timer would give up.
func TestRelayRecoversWhatItMissedReconnecting(t *testing.T) {
	s1, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s1.Start()
	if !s1.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	port := s1.Addr().(*net.TCPAddr).Port
	reconnected := make(chan string, 2)
	conn := func(name string, wait time.Duration) *nats.Conn {
		nc, err := nats.Connect(s1.ClientURL(), nats.ReconnectWait(wait), nats.MaxReconnects(-1), nats.ReconnectJitter(0, 0),
			nats.ReconnectHandler(func(*nats.Conn) { reconnected <- name }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	pub := conn("publisher", 10*time.Millisecond)
	sub := conn("relay", 500*time.Millisecond)
	col := &collector{}
	r, err := logfwd.NewRelay(sub, "log.M", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandler(pub, "log.M", nil)
	l := slog.New(h)
	l.Info("before", "i", 0)
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	s1.Shutdown()
	s1.WaitForShutdown()
	for i := 1; i <= 100; i++ {
		l.Info("while down", "i", i) // into the publisher's reconnect buffer
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
	for range 2 {
		select {
		case who := <-reconnected:
			t.Logf("%s reconnected", who)
		case <-time.After(10 * time.Second):
			t.Fatal("no reconnect")
		}
	}
	l.Info("after", "i", 101)
	t0 := time.Now()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("end of log %v after the last record", time.Since(t0))
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
	if len(got) != 102 || r.Lost() != 0 {
		t.Fatalf("relayed %d records (lost %d), want 102 and 0: %v", len(got), r.Lost(), got)
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("record %d is i=%d", i, v)
		}
	}
}
