package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/internal/floodtest"
)

// TestReplySlotFloodHeals: a hostile child learns the reply slot a
// controller uses for the calls made to it (reused for every later call,
// subscribed while idle) and floods it with messages as large as the bus
// takes, from a few connections of its own user. All of them go to the
// parent's one connection, faster than the in-process pipe carries them:
// the server drops it as a slow consumer's. It never reconnected, so the
// flood ended every controller, exit watcher and life event of the parent
// for good (calls: "nats: connection closed"). Now it comes back at once:
// a call during the flood may time out, the connection is never closed,
// and once the flood stops every call is answered.
func TestReplySlotFloodHeals(t *testing.T) {
	b := bgkittest.Bus(t)
	_, reqs := rawService(t, b)
	echo := connectECHO(t, b)

	creds, err := b.Grant("HOSTILE")
	if err != nil {
		t.Fatal(err)
	}
	hb, err := bus.Dial(t.Context(), creds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hb.Close() })
	slot := make(chan string, 1)
	_, _ = hb.Conn().Subscribe(bus.ControlSubject(micro.PingVerb, "HOSTILE", ""), func(m *nats.Msg) { _ = m.Respond([]byte("{}")) })
	_, _ = hb.Conn().Subscribe(bus.ServiceSubject("HOSTILE", "probe"), func(m *nats.Msg) {
		select {
		case slot <- m.Reply:
		default:
		}
		_ = m.Respond([]byte("0"))
	})
	_ = hb.Conn().Flush()
	hc, err := controller.Connect(t.Context(), b, "HOSTILE")
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	if err := hc.Call(t.Context(), "probe", nil, nil); err != nil {
		t.Fatal(err)
	}
	target := <-slot

	// answer every call to ECHO at once
	answered := make(chan struct{})
	t.Cleanup(func() { close(answered) })
	go func() {
		for {
			select {
			case m := <-reqs:
				_ = m.Respond([]byte(`"ok"`))
			case <-answered:
				return
			}
		}
	}()

	flood := floodtest.Start(t, creds, target)
	failed, calls := 0, 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !b.Conn().IsClosed() {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		var s string
		if err := echo.Call(ctx, "echo", nil, &s); err != nil {
			failed++
		}
		calls++
		cancel()
	}
	sent := flood.Stop()
	t.Logf("flood: %d messages of %d bytes; %d of %d calls failed meanwhile; %d reconnects",
		sent, flood.Payload, failed, calls, b.Conn().Stats().Reconnects)
	if b.Conn().IsClosed() {
		t.Fatalf("the parent's connection was closed by the hostile child's flood of its reply slot %s: last error %v",
			target, b.Conn().LastError())
	}
	// Once the flood is over, calls are answered: the first may wait for
	// the reconnection, none fails. The server may still drop the
	// connection while it drains the flood's backlog (a reconnection the
	// flood's end did not yet show): a call in flight then loses its
	// request or its reply with the old connection, as any NATS request
	// does, and waits out its ctx. Such a call is made again; any other
	// failure fails the test.
	lost := 0
	for i := 0; i < 20; {
		reconnects := b.Conn().Stats().Reconnects
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		var s string
		err := echo.Call(ctx, "echo", nil, &s)
		cancel()
		if err != nil && b.Conn().Stats().Reconnects > reconnects && lost < 3 {
			lost++
			t.Logf("call %d after the flood was lost to a reconnection meanwhile: %v; again", i, err)
			continue
		}
		if err != nil || s != "ok" {
			t.Fatalf("call %d after the flood: %q, %v", i, s, err)
		}
		i++
	}
}
