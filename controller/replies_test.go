package controller_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// rawService answers ECHO's ping itself and hands the test every request
// to svc.ECHO.echo, so that the test decides when and how often to answer.
func rawService(t *testing.T, b *bus.Bus) (*nats.Conn, chan *nats.Msg) {
	t.Helper()
	return rawServicePong(t, b, "{}")
}

// rawServicePong is rawService answering its ping with pong.
func rawServicePong(t *testing.T, b *bus.Bus, pong string) (*nats.Conn, chan *nats.Msg) {
	t.Helper()
	own, err := bus.Dial(t.Context(), b.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { own.Close() })
	nc := own.Conn()
	if _, err := nc.Subscribe(bus.ControlSubject(micro.PingVerb, "ECHO", ""), func(m *nats.Msg) { m.Respond([]byte(pong)) }); err != nil {
		t.Fatal(err)
	}
	reqs := make(chan *nats.Msg, 100)
	if _, err := nc.ChanSubscribe(bus.ServiceSubject("ECHO", "echo"), reqs); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return nc, reqs
}

// connectECHO is a controller for ECHO, closed at cleanup.
func connectECHO(t *testing.T, b *bus.Bus) *controller.Controller {
	t.Helper()
	c, err := controller.Connect(t.Context(), b, "ECHO")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type callOut struct {
	reply string
	err   error
}

func goCall(ctx context.Context, c *controller.Controller) chan callOut {
	out := make(chan callOut, 1)
	go func() {
		var s string
		err := c.Call(ctx, "echo", nil, &s)
		out <- callOut{s, err}
	}()
	return out
}

func answer(t *testing.T, m *nats.Msg, s string) {
	t.Helper()
	if err := m.Respond([]byte(`"` + s + `"`)); err != nil {
		t.Fatal(err)
	}
}

// Sequential calls reuse one reply subject (the server's caches see it
// again); calls in flight together have subjects of their own.
func TestCallReplySubjects(t *testing.T) {
	b := bgkittest.Bus(t)
	_, reqs := rawService(t, b)
	c := connectECHO(t, b)
	seen := map[string]bool{}
	for i := range 5 {
		out := goCall(t.Context(), c)
		m := <-reqs
		seen[m.Reply] = true
		answer(t, m, "x")
		if r := <-out; r.err != nil || r.reply != "x" {
			t.Fatalf("call %d = %q, %v", i, r.reply, r.err)
		}
	}
	if len(seen) != 1 {
		t.Errorf("5 sequential calls used %d reply subjects, want 1: %v", len(seen), seen)
	}
	out1, out2 := goCall(t.Context(), c), goCall(t.Context(), c)
	m1, m2 := <-reqs, <-reqs
	if m1.Reply == m2.Reply {
		t.Fatalf("two calls in flight share the reply subject %s", m1.Reply)
	}
	answer(t, m2, "2")
	answer(t, m1, "1")
	r1, r2 := <-out1, <-out2
	if r1.err != nil || r2.err != nil || r1.reply+r2.reply != "12" && r1.reply+r2.reply != "21" || r1.reply == r2.reply {
		t.Fatalf("calls in flight got %q, %v and %q, %v", r1.reply, r1.err, r2.reply, r2.err)
	}
}

// A reply that comes after its call gave up reaches no later call.
func TestLateReplyReachesNoLaterCall(t *testing.T) {
	b := bgkittest.Bus(t)
	_, reqs := rawService(t, b)
	c := connectECHO(t, b)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	out := goCall(ctx, c)
	late := <-reqs
	if r := <-out; !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("first call = %q, %v; want its deadline", r.reply, r.err)
	}
	out = goCall(t.Context(), c)
	m := <-reqs
	answer(t, late, "late") // first, on the same connection: it arrives first
	answer(t, m, "fresh")
	if r := <-out; r.err != nil || r.reply != "fresh" {
		t.Fatalf("second call = %q, %v; want fresh", r.reply, r.err)
	}
}

// A responder answering one request twice: the second answer, arrived
// while the slot was idle, is not the next call's reply.
func TestDuplicateReplyNotReadByNextCall(t *testing.T) {
	b := bgkittest.Bus(t)
	nc, reqs := rawService(t, b)
	marks := make(chan *nats.Msg, 1)
	if _, err := b.Conn().ChanSubscribe("test.mark", marks); err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	c := connectECHO(t, b)
	out := goCall(t.Context(), c)
	m := <-reqs
	answer(t, m, "one")
	answer(t, m, "dup")
	// Published after the duplicate on the same connection, so received
	// after it: once the mark is in, the duplicate waits in the slot.
	if err := nc.Publish("test.mark", nil); err != nil {
		t.Fatal(err)
	}
	if r := <-out; r.err != nil || r.reply != "one" {
		t.Fatalf("first call = %q, %v", r.reply, r.err)
	}
	<-marks
	out = goCall(t.Context(), c)
	answer(t, <-reqs, "two")
	if r := <-out; r.err != nil || r.reply != "two" {
		t.Fatalf("second call = %q, %v; want two", r.reply, r.err)
	}
}

// A call in flight fails when its connection closes, not at its budget.
func TestCallFailsWhenConnectionCloses(t *testing.T) {
	b := bgkittest.Bus(t)
	_, reqs := rawService(t, b)
	jb, err := bus.Dial(t.Context(), b.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.Connect(t.Context(), jb, "ECHO", controller.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := goCall(context.Background(), c)
	<-reqs
	jb.Close()
	select {
	case r := <-out:
		if !errors.Is(r.err, nats.ErrConnectionClosed) {
			t.Fatalf("call = %q, %v; want ErrConnectionClosed", r.reply, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call still waiting 10 s after its connection closed")
	}
}

// echoer's Echo answers n after a delay of n%4 ms.
type echoer struct{}

func (echoer) Initialize(context.Context) error { return nil }
func (echoer) Shutdown(context.Context) error   { return nil }
func (echoer) Echo(ctx context.Context, n int) (int, error) {
	time.Sleep(time.Duration(n%4) * time.Millisecond)
	return n, nil
}

// Many callers, budgets shorter than some replies take: every reply a call
// gets is its own, however many slots were retired and reused around it.
func TestRepliesUnderTimeoutsAreNeverCrossed(t *testing.T) {
	b := bgkittest.Bus(t)
	own, err := bus.Dial(t.Context(), b.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, own, echoer{}, service.WithName("ECHOER"), service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	defer func() { cancel(); <-done }()
	c, err := controller.Connect(t.Context(), b, "ECHOER")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const callers, per = 16, 150
	var ok, timedOut atomic.Int64
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				n := g*per + i
				cctx, ccancel := context.WithTimeout(context.Background(), time.Duration(1+n%3)*time.Millisecond)
				var got int
				err := c.Call(cctx, "echo", n, &got)
				ccancel()
				switch {
				case err == nil && got != n:
					t.Errorf("call with %d got the reply %d", n, got)
				case err == nil:
					ok.Add(1)
				case errors.Is(err, context.DeadlineExceeded):
					timedOut.Add(1)
				default:
					t.Errorf("call with %d: %v", n, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d answered, %d timed out", ok.Load(), timedOut.Load())
	if ok.Load() == 0 || timedOut.Load() == 0 {
		t.Fatalf("%d answered, %d timed out: the test needs both", ok.Load(), timedOut.Load())
	}
}

// countingHandler counts the records whose message is msg.
type countingHandler struct {
	msg string
	n   atomic.Int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// A responder that floods its callers' reply subjects overflows their
// slots: the drops are reported, but not once per call.
func TestReplyFloodIsNotALogFlood(t *testing.T) {
	logs := &countingHandler{msg: "bus async error"}
	b, err := bus.Start(t.Context(), bus.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, reqs := rawService(t, b)
	c := connectECHO(t, b)
	const calls, flood = 200, 20
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-stopped }()
	go func() {
		defer close(stopped)
		for {
			select {
			case m := <-reqs:
				for range flood {
					_ = nc.Publish(m.Reply, []byte(`"x"`))
				}
			case <-stop:
				return
			}
		}
	}()
	for range calls {
		var s string
		if err := c.Call(t.Context(), "echo", nil, &s); err != nil || s != "x" {
			t.Fatalf("call = %q, %v", s, err)
		}
	}
	// The warnings come from nats.go's callback goroutine; a ping on the
	// same connection orders after them.
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls, %d replies each: %d async error records", calls, flood, logs.n.Load())
	if n := logs.n.Load(); n > 5 {
		t.Errorf("%d records of bus async errors for %d flooded calls, want a few", n, calls)
	}
}
