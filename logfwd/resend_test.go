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
	f := startFailover(t)
	col := &collector{}
	r, err := logfwd.NewRelay(f.relay, "log.M", col)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandler(f.pub, "log.M", nil)
	l := slog.New(h)
	l.Info("before", "i", 0)
	if err := f.pub.Flush(); err != nil {
		t.Fatal(err)
	}
	f.restart(func() {
		for i := 1; i <= 100; i++ {
			l.Info("while down", "i", i) // into the publisher's reconnect buffer
		}
	})
	l.Info("after", "i", 101)
	closeAndCheck(t, h, r, col, 102)
}

// TestRelayRecoversBeforeItsFirstRecord: as above, but the relay had no
// record before the server died, and none comes after but the end-of-log
// marker (which has no reply subject): it learns nothing of the
// publisher's inbox from what it receives. Told the inbox beforehand
// (RelayOptions.Inbox: a bgkit parent grants its child's), it asks after
// its reconnect all the same and gets every record.
func TestRelayRecoversBeforeItsFirstRecord(t *testing.T) {
	f := startFailover(t)
	col := &collector{}
	const inbox = "_INBOX.LOGM"
	r, err := logfwd.NewRelayWith(f.relay, "log.M", col, logfwd.RelayOptions{Inbox: inbox})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := logfwd.NewHandlerInbox(f.pub, "log.M", inbox, nil)
	l := slog.New(h)
	f.restart(func() {
		for i := 0; i < 100; i++ {
			l.Info("while down", "i", i)
		}
	})
	closeAndCheck(t, h, r, col, 100)
}

// failover is a server that restart replaces with another on its port,
// and two connections to it: the publisher's, which reconnects at once,
// and the relay's, which reconnects after the publisher has flushed what
// it buffered while the server was down.
type failover struct {
	t          *testing.T
	s          *server.Server
	pub, relay *nats.Conn
	reconnects chan string
}

func startFailover(t *testing.T) *failover {
	f := &failover{t: t, reconnects: make(chan string, 2)}
	f.s = f.serve(-1)
	conn := func(name string, wait time.Duration) *nats.Conn {
		nc, err := nats.Connect(f.s.ClientURL(), nats.ReconnectWait(wait), nats.MaxReconnects(-1), nats.ReconnectJitter(0, 0),
			nats.ReconnectHandler(func(*nats.Conn) { f.reconnects <- name }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	f.pub = conn("publisher", 10*time.Millisecond)
	f.relay = conn("relay", 500*time.Millisecond)
	return f
}

func (f *failover) serve(port int) *server.Server {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true})
	if err != nil {
		f.t.Fatal(err)
	}
	go s.Start()
	f.t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(5 * time.Second) {
		f.t.Fatal("not ready")
	}
	return s
}

// restart stops the server, runs whileDown, starts the new server and
// waits until both connections are back and the relay's subscriptions
// are registered again.
func (f *failover) restart(whileDown func()) {
	port := f.s.Addr().(*net.TCPAddr).Port
	f.s.Shutdown()
	f.s.WaitForShutdown()
	whileDown()
	f.s = f.serve(port)
	for range 2 {
		select {
		case who := <-f.reconnects:
			f.t.Logf("%s reconnected", who)
		case <-time.After(10 * time.Second):
			f.t.Fatal("no reconnect")
		}
	}
	if err := f.relay.Flush(); err != nil {
		f.t.Fatal(err)
	}
}

// closeAndCheck closes h and checks that r relayed records i=0…n-1, in
// order, and lost none.
func closeAndCheck(t *testing.T, h *logfwd.Handler, r *logfwd.Relay, col *collector, n int) {
	t.Helper()
	t0 := time.Now()
	endAndWait(t, h, r)
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
	if len(got) != n || r.Lost() != 0 {
		t.Fatalf("relayed %d records (lost %d), want %d and 0: %v", len(got), r.Lost(), n, got)
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("record %d is i=%d", i, v)
		}
	}
}
