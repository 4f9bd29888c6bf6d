package controller_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/internal/nuidguess"
	"github.com/bgkit/bgkit/service"
)

// hostile is a connection with the credentials of a child named HOSTILE
// that answers its ping and its method probe, and tells the test the
// reply subject of each probe: all a hostile service learns of its caller.
type hostile struct {
	nc      *nats.Conn
	replies chan string
}

func newHostile(t *testing.T, b *bus.Bus) *hostile {
	t.Helper()
	creds, err := b.Grant("HOSTILE")
	if err != nil {
		t.Fatal(err)
	}
	hb, err := bus.Dial(t.Context(), creds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hb.Close() })
	h := &hostile{nc: hb.Conn(), replies: make(chan string, 16)}
	if _, err := h.nc.Subscribe(bus.ControlSubject(micro.PingVerb, "HOSTILE", ""), func(m *nats.Msg) { _ = m.Respond([]byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.nc.Subscribe(bus.ServiceSubject("HOSTILE", "probe"), func(m *nats.Msg) {
		h.replies <- m.Reply
		_ = m.Respond([]byte("0"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return h
}

// learn has the parent call HOSTILE and returns the inboxes the hostile
// child can work out from the reply subjects it saw: the NUIDs drawn near
// the one in them.
func (h *hostile) learn(t *testing.T, b *bus.Bus) []string {
	t.Helper()
	c, err := controller.Connect(t.Context(), b, "HOSTILE")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Call(t.Context(), "probe", nil, nil); err != nil {
		t.Fatal(err)
	}
	// and as a test's own code may, with nats.go's Request (its replies
	// go to _INBOX.<NUID>.<token>)
	if _, err := b.Conn().Request(bus.ServiceSubject("HOSTILE", "probe"), nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var guesses []string
	for _, reply := range []string{<-h.replies, <-h.replies} {
		if !bus.IsInbox(reply) {
			t.Fatalf("the reply subject %q is not an inbox", reply)
		}
		for _, n := range nuidguess.Neighbours(nuidguess.InSubject(reply, "_INBOX"), 12) {
			guesses = append(guesses, "_INBOX."+n)
		}
	}
	if len(guesses) == 0 {
		t.Fatal("no NUID learnt: the test shows nothing")
	}
	return guesses
}

// flood publishes data on every subject and waits until the server has
// taken it all (it has routed each before it answers the flush).
func (h *hostile) flood(t *testing.T, subjects []string, data []byte) {
	t.Helper()
	for _, s := range subjects {
		if err := h.nc.Publish(s, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestForgedReplyNotTaken: a hostile child that saw the reply subject of a
// call made to it cannot answer a call the same process makes to another
// service. The reply slots' subjects were a NUID and a counter: the
// controller of the other service drew its NUID next to the one the
// hostile child saw, among a few thousand candidates.
func TestForgedReplyNotTaken(t *testing.T) {
	b := bgkittest.Bus(t)
	_, reqs := rawService(t, b)
	echo := connectECHO(t, b)
	h := newHostile(t, b)
	guesses := h.learn(t, b)
	var slots []string
	for _, g := range guesses {
		for _, n := range []string{".1", ".2", ".3"} {
			slots = append(slots, g+n)
		}
	}
	out := goCall(t.Context(), echo)
	m := <-reqs // the call waits for its reply on its slot
	h.flood(t, slots, []byte(`"forged"`))
	answer(t, m, "honest")
	if r := <-out; r.err != nil || r.reply != "honest" {
		t.Fatalf("the call to ECHO returned %q, %v: the hostile child's reply was taken (%d guesses)", r.reply, r.err, len(slots))
	}
}

// gated streams "first", then "second" once the test says so; ended is
// closed if its ctx ends first (the stream was stopped).
type gated struct{ next, ended chan struct{} }

func (*gated) Initialize(context.Context) error { return nil }
func (*gated) Shutdown(context.Context) error   { return nil }

// Items yields "first", then "second" when told.
func (g *gated) Items(ctx context.Context) (iter.Seq2[string, error], error) {
	return func(yield func(string, error) bool) {
		if !yield("first", nil) {
			return
		}
		select {
		case <-g.next:
			yield("second", nil)
		case <-ctx.Done():
			close(g.ended)
		}
	}, nil
}

// TestForgedStreamBatchNotTaken: neither the inbox a stream's batches come
// to nor the subject its pulls and its stop go to can be worked out by a
// hostile child from a reply subject it saw: it can neither slip items
// into another service's stream nor stop it.
func TestForgedStreamBatchNotTaken(t *testing.T) {
	b := bgkittest.Bus(t)
	g := &gated{next: make(chan struct{}), ended: make(chan struct{})}
	bgkittest.Serve(t, b, g, service.WithName("GATED"))
	c, err := controller.Connect(t.Context(), b, "GATED")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := newHostile(t, b)
	guesses := h.learn(t, b)
	next, stop := iter.Pull2(controller.StreamOf[string](t.Context(), c, "items", nil))
	defer stop()
	if v, err, ok := next(); !ok || err != nil || v != "first" {
		t.Fatalf("first item: %q, %v, %v", v, err, ok)
	}
	var batches []string
	for _, s := range guesses {
		batches = append(batches, s+".0", s+".1")
	}
	h.flood(t, batches, []byte("\"forged\"\n"))
	h.flood(t, guesses, []byte("stop"))
	// A stop taken ends the producer's ctx within a few milliseconds of
	// the server routing it (done when flood returns).
	select {
	case <-g.ended:
		t.Fatalf("a stop the hostile child published on one of %d guesses ended the stream at its service", len(guesses))
	case <-time.After(200 * time.Millisecond):
	}
	close(g.next)
	v, err, ok := next()
	if !ok || err != nil || v != "second" {
		t.Fatalf("after the hostile child's %d guesses the stream gave %q, %v (more: %v), want \"second\"", len(batches)+len(guesses), v, err, ok)
	}
}
