package bus_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// TestStopCalls: on the embedded bus, StopCalls has a granted name's calls
// answered 503 by the bus's owner although its child still subscribes
// (and not for a reply subject outside the inbox namespace); Revoke
// routes them again. Not for a name not granted, nor on an external bus.
func TestStopCalls(t *testing.T) {
	quiet := bus.WithLogger(slog.New(slog.DiscardHandler))
	b, err := bus.Start(context.Background(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.StopCalls("STOP_SERVICE") {
		t.Fatal("StopCalls of a name not granted")
	}
	// serve grants STOP_SERVICE and serves it as its child would.
	serve := func() {
		creds, err := b.Grant("STOP_SERVICE")
		if err != nil {
			t.Fatal(err)
		}
		child, err := bus.Dial(context.Background(), creds, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { child.Close() })
		if _, err := child.Conn().Subscribe(bus.ServiceSubject("STOP_SERVICE", "m"), func(m *nats.Msg) { _ = m.Respond([]byte("ok")) }); err != nil {
			t.Fatal(err)
		}
		if err := child.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// call returns the error code of the answer (0: a result) and message.
	call := func(when string) (int, string) {
		m, err := b.Conn().Request(bus.ServiceSubject("STOP_SERVICE", "m"), nil, 2*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		code, msg, _ := bus.ReplyError(m)
		return code, msg
	}
	serve()
	if code, msg := call("before StopCalls"); code != 0 {
		t.Fatalf("before StopCalls: %d %s", code, msg)
	}
	if !b.StopCalls("STOP_SERVICE") {
		t.Fatal("StopCalls of a granted name on the embedded bus reported false")
	}
	if code, msg := call("after StopCalls"); code != 503 || msg != "STOP_SERVICE is shutting down" {
		t.Fatalf("after StopCalls: %d %q, want 503 STOP_SERVICE is shutting down", code, msg)
	}
	// A hostile reply subject gets nothing from the bus's owner.
	spy, err := b.Conn().SubscribeSync("log.STOP_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().PublishRequest(bus.ServiceSubject("STOP_SERVICE", "m"), "log.STOP_SERVICE", nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := call("after a hostile request"); code != 503 { // answered after it
		t.Fatalf("after a hostile request: code %d", code)
	}
	if n, _, _ := spy.Pending(); n != 0 { // it would have come before that call's answer
		t.Fatalf("the bus's owner answered %d times onto log.STOP_SERVICE", n)
	}
	b.Revoke("STOP_SERVICE") // closes the child's connection
	serve()
	if code, msg := call("after Revoke and a new grant"); code != 0 {
		t.Fatalf("after Revoke and a new grant: %d %s", code, msg)
	}

	ext, err := bus.Connect(context.Background(), b.Credentials().URL,
		bus.WithUserInfo(b.Credentials().User, b.Credentials().Password), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	if _, err := ext.Grant("EXT_SERVICE"); err != nil {
		t.Fatal(err)
	}
	if ext.StopCalls("EXT_SERVICE") {
		t.Error("StopCalls on an external bus")
	}
	ext.Revoke("EXT_SERVICE")
}
