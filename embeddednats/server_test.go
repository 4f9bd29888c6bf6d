package embeddednats_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/embeddednats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartUsersAndShutdown(t *testing.T) {
	s, err := embeddednats.Start(embeddednats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("URL %q is not loopback", s.ClientURL())
	}
	admin, err := nats.Connect(s.ClientURL(), nats.UserInfo(embeddednats.AdminUser, s.AdminPassword()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo(embeddednats.AdminUser, "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	pass, err := s.AddUser("u1", embeddednats.Permissions{Publish: []string{"a.>"}, Subscribe: []string{"b.>"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser("u1", embeddednats.Permissions{}); !errors.Is(err, embeddednats.ErrUserExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	denied := make(chan error, 4)
	u, err := nats.Connect(s.ClientURL(), nats.UserInfo("u1", pass), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied <- err }))
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := admin.SubscribeSync("a.x")
	admin.Flush()
	u.Publish("a.x", []byte("ok"))
	u.Publish("c.x", []byte("no"))
	u.Flush()
	if m, err := sub.NextMsg(2 * time.Second); err != nil || string(m.Data) != "ok" {
		t.Fatalf("allowed publish: %v", err)
	}
	select {
	case err := <-denied:
		if !strings.Contains(err.Error(), "c.x") {
			t.Fatalf("denied publish: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("publish to c.x not refused")
	}
	closed := make(chan struct{})
	u.SetClosedHandler(func(*nats.Conn) { close(closed) })
	s.RemoveUser("u1")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("removed user still connected")
	}
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("u1", pass)); err == nil {
		t.Fatal("removed user can connect")
	}
	s.Shutdown()
	s.Shutdown() // idempotent
}
