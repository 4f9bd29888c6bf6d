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
	creds, err := b.Grant("STOP_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	child, err := bus.Dial(context.Background(), creds, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	sub, err := child.Conn().Subscribe(bus.ServiceSubject("STOP_SERVICE", "m"), func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := child.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	call := func() error {
		_, err := b.Conn().Request(bus.ServiceSubject("STOP_SERVICE", "m"), nil, 2*time.Second)
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("before StopCalls: %v", err)
	}
	if !b.StopCalls("STOP_SERVICE") {
		t.Fatal("StopCalls of a granted name on the embedded bus reported false")
	}
	m, err := b.Conn().Request(bus.ServiceSubject("STOP_SERVICE", "m"), nil, 2*time.Second)
	if err != nil {
		t.Fatalf("after StopCalls: %v", err)
	}
	if code, msg, ok := bus.ReplyError(m); !ok || code != 503 || msg != "STOP_SERVICE is shutting down" {
		t.Fatalf("after StopCalls: %d %q %v, want 503 STOP_SERVICE is shutting down", code, msg, ok)
	}
	// A hostile reply subject gets nothing from the bus's owner.
	spy, err := b.Conn().SubscribeSync("log.STOP_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().PublishRequest(bus.ServiceSubject("STOP_SERVICE", "m"), "log.STOP_SERVICE", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	// A call after it, answered by the same responder after it.
	if m, err := b.Conn().Request(bus.ServiceSubject("STOP_SERVICE", "m"), nil, 2*time.Second); err != nil {
		t.Fatal(err)
	} else if code, _, _ := bus.ReplyError(m); code != 503 {
		t.Fatalf("second call after StopCalls: code %d", code)
	}
	if n, _, _ := spy.Pending(); n != 0 { // it would have come before that call's answer
		t.Fatalf("the bus's owner answered %d times onto log.STOP_SERVICE", n)
	}
	b.Revoke("STOP_SERVICE")
	// The revoked child's connection is closed: serve the name again.
	creds, err = b.Grant("STOP_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	again, err := bus.Dial(context.Background(), creds, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	sub2, err := again.Conn().Subscribe(bus.ServiceSubject("STOP_SERVICE", "m"), func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Unsubscribe()
	if err := again.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if err := call(); err != nil {
		t.Fatalf("after Revoke and a new grant: %v", err)
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
