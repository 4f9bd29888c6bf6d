package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/nuidguess"
)

// NewInbox is under the connection's inbox prefix (a child's own, which its
// permissions let it subscribe to), one literal inbox subject, and not a
// NUID: no inbox drawn before it has it among its neighbours.
func TestNewInbox(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	creds, err := b.Grant("INBOX_CHILD")
	if err != nil {
		t.Fatal(err)
	}
	child, err := bus.Dial(context.Background(), creds, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	for _, c := range []struct {
		nc     *nats.Conn
		prefix string
	}{{b.Conn(), "_INBOX."}, {child.Conn(), bus.ChildInboxPrefix("INBOX_CHILD") + "."}} {
		seen := nuidguess.InSubject(c.nc.NewInbox(), strings.TrimSuffix(c.prefix, "."))
		guesses := nuidguess.Neighbours(seen, 4)
		in := bus.NewInbox(c.nc)
		if !strings.HasPrefix(in, c.prefix) || !bus.IsInbox(in) || strings.Count(in, ".") != strings.Count(c.prefix, ".") {
			t.Errorf("NewInbox = %q, want one token under %q", in, c.prefix)
		}
		last := in[strings.LastIndexByte(in, '.')+1:]
		for _, g := range guesses {
			if g == last {
				t.Fatalf("NewInbox %q is a neighbour of the NUID %s drawn before it", in, seen)
			}
		}
		if in2 := bus.NewInbox(c.nc); in2 == in {
			t.Errorf("NewInbox twice gave %q", in)
		}
		// The child may subscribe there and be answered.
		if _, err := c.nc.SubscribeSync(in); err != nil {
			t.Fatal(err)
		}
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := c.nc.LastError(); err != nil {
			t.Fatalf("subscribing to %q: %v", in, err)
		}
	}
}

// Request: the answer, nats.ErrNoResponders when nobody listens, the
// caller's ctx error when its ctx ends, nats.ErrTimeout when the timeout
// given for a ctx without deadline runs out; it leaves no subscription.
func TestRequest(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc := b.Conn()
	replies := make(chan string, 1)
	if _, err := nc.Subscribe("req.echo", func(m *nats.Msg) {
		replies <- m.Reply
		_ = m.Respond(append([]byte("echo "), m.Data...))
	}); err != nil {
		t.Fatal(err)
	}
	silent, err := nc.SubscribeSync("req.silent")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Unsubscribe()
	subs := nc.NumSubscriptions()

	m, err := bus.Request(context.Background(), nc, &nats.Msg{Subject: "req.echo", Data: []byte("x")}, time.Second)
	if err != nil || string(m.Data) != "echo x" {
		t.Fatalf("Request = %v, %v", m, err)
	}
	if r := <-replies; !bus.IsInbox(r) || nuidguess.InSubject(r, "_INBOX") != "" {
		t.Errorf("the responder saw the reply subject %q: want an inbox not ending in a NUID", r)
	}
	if _, err := bus.Request(context.Background(), nc, &nats.Msg{Subject: "req.nobody"}, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("Request to nobody: %v, want nats.ErrNoResponders", err)
	}
	if _, err := bus.Request(context.Background(), nc, &nats.Msg{Subject: "req.silent"}, 20*time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("Request with a timeout unanswered: %v, want nats.ErrTimeout", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := bus.Request(ctx, nc, &nats.Msg{Subject: "req.silent"}, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Request with a ctx that ends: %v, want context.DeadlineExceeded", err)
	}
	if n := nc.NumSubscriptions(); n != subs {
		t.Errorf("%d subscriptions after the requests, %d before", n, subs)
	}
}
