package service_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/service"
)

type gatedStreamer struct{ gate chan struct{} }

func (gatedStreamer) Initialize(context.Context) error { return nil }
func (gatedStreamer) Shutdown(context.Context) error   { return nil }

// Fail yields nothing: once the gate opens it ends with an error.
func (g gatedStreamer) Fail(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return
		}
		yield(0, errors.New("sensor unplugged"))
	}, nil
}

// A caller may keep several pulls outstanding. When the stream ends,
// each gets the end — those queued behind the pull that took it, and
// those on their way to the service's connection — or, one that reaches
// the server after the stream's subscription is gone, no responders: none
// is left to time out.
func TestStreamEndAnswersEveryPullOutstanding(t *testing.T) {
	b := bgkittest.Bus(t)
	g := gatedStreamer{gate: make(chan struct{})}
	bgkittest.Serve(t, b, g, service.WithName("GATED"))
	nc := b.Conn()
	open := nats.NewMsg("svc.GATED.fail")
	open.Header.Set(service.StreamHeader, "open")
	r, err := nc.RequestMsg(open, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	subject := r.Header.Get(service.StreamHeader)
	inbox := nc.NewInbox()
	replies, err := nc.SubscribeSync(inbox + ".*")
	if err != nil {
		t.Fatal(err)
	}
	defer replies.Unsubscribe()
	close(g.gate)          // the first pull gets the end while the others are on their way
	const outstanding = 48 // under the server's queue of 64
	for i := range outstanding {
		if err := nc.PublishRequest(subject, fmt.Sprintf("%s.%d", inbox, i), []byte("100")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ends := 0
	for i := range outstanding {
		m, err := replies.NextMsg(3 * time.Second)
		if errors.Is(err, nats.ErrNoResponders) {
			continue // came after the stream was gone
		}
		if err != nil {
			t.Fatalf("pull %d of %d outstanding (%d got the end): %v", i, outstanding, ends, err)
		}
		ends++
		if end, code := m.Header.Get(service.StreamEndHeader), m.Header.Get("Nats-Service-Error-Code"); end != "1" || code != "500" {
			t.Errorf("%s: end %q, code %q (%q); want the end, 500", m.Subject, end, code, m.Header.Get("Nats-Service-Error"))
		}
	}
	if ends == 0 {
		t.Fatal("no pull got the end")
	}
}
