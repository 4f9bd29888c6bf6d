package embeddednats_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/embeddednats"
)

// TestDivert: a diverted subject reaches no subscriber — a request finds
// no responder although one is subscribed — until Undivert.
func TestDivert(t *testing.T) {
	s, err := embeddednats.Start(embeddednats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(embeddednats.AdminUser, s.AdminPassword()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.Subscribe("svc.X.>", func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	call := func() error {
		_, err := nc.Request("svc.X.m", nil, 2*time.Second)
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("before Divert: %v", err)
	}
	if err := s.Divert("svc.X.>"); err != nil {
		t.Fatal(err)
	}
	if err := call(); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("diverted: %v, want no responders", err)
	}
	if _, err := nc.Request("svc.Y.m", nil, 50*time.Millisecond); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("another subject: %v", err) // nobody serves it: unchanged
	}
	if !s.Undivert("svc.X.>") || s.Undivert("svc.X.>") {
		t.Fatal("Undivert did not report the one diversion")
	}
	if err := call(); err != nil {
		t.Fatalf("after Undivert: %v", err)
	}
	if err := s.Divert("svc..bad"); err == nil {
		t.Fatal("Divert of an invalid subject succeeded")
	}
}
