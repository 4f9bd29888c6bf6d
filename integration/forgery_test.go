package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
	"github.com/bgkit/bgkit/service"
)

// forgeryChild connects to b with the credentials a child serving name gets,
// as a hostile child would use them: raw NATS, no bgkit code in the way.
func forgeryChild(t *testing.T, b *bus.Bus, name string) *nats.Conn {
	t.Helper()
	creds, err := b.Grant(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Revoke(name) })
	c, err := bus.Dial(context.Background(), creds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Conn().SetErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}) // refusals are expected
	return c.Conn()
}

// forgeryWatch subscribes as admin to the subjects a forger aims at and
// returns a function that fails the test if anything arrived there.
func forgeryWatch(t *testing.T, b *bus.Bus, subjects ...string) func(what string) {
	t.Helper()
	got := make(chan *nats.Msg, 64)
	for _, s := range subjects {
		sub, err := b.Conn().ChanSubscribe(s, got)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Unsubscribe() })
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	return func(what string) {
		t.Helper()
		// A published message reaches the server before the publisher's
		// flush returns and the admin's subscription before the admin's:
		// after both flushes, anything forged is in got.
		if err := b.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			t.Errorf("%s: a forged message reached %s: %q", what, m.Subject, m.Data)
		default:
		}
	}
}

// The self-loop of issue 9: a child publishes a request to a subject it
// subscribes to itself, with the reply subject it wants to forge, receives
// it and "responds".
func TestForgerySelfLoop(t *testing.T) {
	b := bgkittest.Bus(t)
	spy := forgeryChild(t, b, "SPY")
	targets := []string{"log.VICTIM", "evt.VICTIM.session_changed", "life.VICTIM", "_INBOX_VICTIM.x"}
	check := forgeryWatch(t, b, targets...)
	for _, via := range []string{"svc.SPY.x", "can.bus0", "$SRV.PING.SPY", "_INBOX.bgkit_SPY.x"} {
		sub, err := spy.Subscribe(via, func(m *nats.Msg) {
			_ = m.Respond([]byte(`{"time":"2026-01-01T00:00:00Z","level":"ERROR","msg":"forged"}`))
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			_ = spy.PublishRequest(via, target, []byte("x"))
		}
		if err := spy.Flush(); err != nil {
			t.Fatal(err)
		}
		// The responses happen in the subscription's goroutine: flush after it ran.
		deadline := time.Now().Add(2 * time.Second)
		for n, _, _ := sub.Pending(); n > 0 && time.Now().Before(deadline); n, _, _ = sub.Pending() {
			time.Sleep(time.Millisecond)
		}
		_ = sub.Unsubscribe()
		_ = spy.Flush()
		check("via " + via)
	}
}

// Direct publishing to another service's subjects and to life. is refused.
func TestForgeryDirect(t *testing.T) {
	b := bgkittest.Bus(t)
	spy := forgeryChild(t, b, "SPY")
	own, err := b.Conn().SubscribeSync("evt.SPY.>")
	if err != nil {
		t.Fatal(err)
	}
	check := forgeryWatch(t, b, "log.VICTIM", "evt.VICTIM.>", "life.>")
	for _, s := range []string{"log.VICTIM", "evt.VICTIM.x", "life.VICTIM", "life.SPY"} {
		_ = spy.Publish(s, []byte(`{}`))
	}
	_ = spy.Publish("evt.SPY.ok", []byte(`1`))
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	check("direct")
	if m, err := own.NextMsg(5 * time.Second); err != nil || m.Subject != "evt.SPY.ok" {
		t.Fatalf("a child's own event: %v %v", m, err)
	}
}

type forgeryHonest struct{}

func (forgeryHonest) Initialize(context.Context) error { return nil }
func (forgeryHonest) Shutdown(context.Context) error   { return nil }
func (forgeryHonest) Echo(ctx context.Context, s string) (string, error) {
	return `{"time":"2026-01-01T00:00:00Z","level":"ERROR","msg":"` + s + `"}`, nil
}

// Reflection: a request to an honest service (served with a child's
// credentials, and in-process on the admin connection) with a reply
// subject outside the inbox namespace gets no answer there, not even a 404.
func TestForgeryReflection(t *testing.T) {
	b := bgkittest.Bus(t)
	spy := forgeryChild(t, b, "SPY")
	creds, err := b.Grant("HONEST")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Revoke("HONEST")
	hb, err := bus.Dial(context.Background(), creds)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	bgkittest.Serve(t, hb, forgeryHonest{}, service.WithName("HONEST"))
	bgkittest.Serve(t, b, forgeryHonest{}, service.WithName("INPROC"))
	targets := []string{"log.VICTIM", "evt.VICTIM.x", "life.VICTIM"}
	check := forgeryWatch(t, b, targets...)
	for _, svc := range []string{"HONEST", "INPROC"} {
		for _, target := range targets {
			for _, method := range []string{"echo", "nope"} {
				_ = spy.PublishRequest("svc."+svc+"."+method, target, []byte(`"forged"`))
			}
			_ = spy.PublishRequest("$SRV.PING."+svc, target, nil)
			_ = spy.PublishRequest("$SRV.INFO."+svc, target, nil)
		}
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	// The services answer in order: once they answered a real call sent
	// after the hostile ones, the hostile ones have been handled.
	for _, svc := range []string{"HONEST", "INPROC"} {
		if _, err := spy.Request("svc."+svc+".echo", []byte(`"ok"`), 5*time.Second); err != nil {
			t.Fatalf("%s after the hostile requests: %v", svc, err)
		}
		if _, err := spy.Request("$SRV.INFO."+svc, nil, 5*time.Second); err != nil {
			t.Fatalf("%s info after the hostile requests: %v", svc, err)
		}
	}
	check("reflection")
}

// A child answering the generic $SRV.PING and $SRV.STATS as another
// service is not listed by `bgkit ls` (see cli's ls, which verifies each
// answer with a ping on $SRV.PING.<NAME>.<ID>, a subject only the real
// instance may subscribe to). Here: the directed subject is unreachable for
// the forger.
func TestForgeryDiscovery(t *testing.T) {
	b := bgkittest.Bus(t)
	spy := forgeryChild(t, b, "SPY")
	fake := micro.Ping{ServiceIdentity: micro.ServiceIdentity{Name: "VICTIM", ID: "FAKE", Version: "1"}, Type: micro.PingResponseType}
	data, _ := json.Marshal(fake)
	for _, s := range []string{"$SRV.PING.VICTIM", "$SRV.PING.VICTIM.FAKE"} {
		if _, err := spy.Subscribe(s, func(m *nats.Msg) { _ = m.Respond(data) }); err != nil {
			t.Fatal(err)
		}
	}
	_ = spy.Flush()
	if _, err := b.Conn().Request("$SRV.PING.VICTIM.FAKE", nil, 500*time.Millisecond); err == nil {
		t.Fatal("a child answered a directed ping for another service")
	} else if !strings.Contains(err.Error(), "no responders") && err != nats.ErrTimeout {
		t.Fatal(err)
	}
}

// A child's log records carry their sequence number in an inbox reply
// subject, which the parent's relay answers (acknowledgements, resend
// requests): a record whose reply subject is another service's event or
// log subject must not make the parent publish there.
func TestForgeryLogReplySubjects(t *testing.T) {
	b := bgkittest.Bus(t)
	spy := forgeryChild(t, b, "SPY")
	check := forgeryWatch(t, b, "evt.VICTIM.>", "log.VICTIM.>", "life.>")
	want := 2*logfwd.AckEvery - 1
	h := &forgeryCounter{n: want, done: make(chan struct{})}
	relay, err := logfwd.NewRelay(b.Conn(), "log.SPY", h)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	rec := []byte(`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"x"}`)
	// Sequence numbers 1…2*AckEvery with a gap, so that the relay would
	// both acknowledge and ask for a resend.
	for seq := 1; seq <= 2*logfwd.AckEvery; seq++ {
		if seq == 3 {
			continue
		}
		_ = spy.PublishRequest("log.SPY", fmt.Sprintf("evt.VICTIM.%d", seq), rec)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("relayed %d records, want %d", relay.Count(), want)
	}
	check("log reply subjects")
}

// forgeryCounter is a handler that closes done after n records.
type forgeryCounter struct {
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func (c *forgeryCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *forgeryCounter) Handle(context.Context, slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		close(c.done)
	}
	return nil
}
func (c *forgeryCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *forgeryCounter) WithGroup(string) slog.Handler      { return c }
