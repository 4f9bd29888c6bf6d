package integration

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
)

func TestEmbeddedServerIsLocalAndLocked(t *testing.T) {
	b1 := bgkittest.Bus(t)
	b2 := bgkittest.Bus(t)
	u, err := url.Parse(b1.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("embedded server listens on %q, want 127.0.0.1", u.Hostname())
	}
	// Not reachable on another local address (it is not bound to 0.0.0.0).
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.2", u.Port()), time.Second); err == nil {
		conn.Close()
		t.Fatalf("embedded server accepts connections on 127.0.0.2")
	}
	// No credentials, no connection.
	if nc, err := nats.Connect(b1.URL()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
	// Credentials are fresh for each run.
	if b1.Credentials().Password == b2.Credentials().Password || len(b1.Credentials().Password) < 32 {
		t.Fatal("two buses share a password, or it is short")
	}
	c2 := b2.Credentials()
	c2.URL = b1.URL()
	if _, err := bus.Dial(context.Background(), c2); err == nil {
		t.Fatal("another run's credentials were accepted")
	}
}

// TestChildCredentialsAreScoped: a child's credentials cannot serve another
// service's subjects nor write to another's log.
func TestChildCredentialsAreScoped(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	credsA, err := b.Grant("SVC_A")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Revoke("SVC_A")
	permErrs := make(chan error, 10)
	a, err := bus.Dial(ctx, credsA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Conn().SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { permErrs <- err })

	// Watch another service's log subject and request subjects as admin.
	otherLog, _ := b.Conn().SubscribeSync("log.SVC_B")
	ownLog, _ := b.Conn().SubscribeSync("log.SVC_A")
	b.Conn().Flush()

	// Subscribing to another service's requests is refused.
	if _, err := a.Conn().Subscribe("svc.SVC_B.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	a.Conn().Flush()
	select {
	case err := <-permErrs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "svc.SVC_B") {
			t.Fatalf("subscribe svc.SVC_B.>: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscribe to svc.SVC_B.> was not refused")
	}
	// Publishing to another's log is refused; its own log works.
	a.Conn().Publish("log.SVC_B", []byte(`{"msg":"forged"}`))
	a.Conn().Publish("log.SVC_A", []byte(`{"msg":"mine"}`))
	a.Conn().Flush()
	select {
	case err := <-permErrs:
		if !strings.Contains(err.Error(), "log.SVC_B") {
			t.Fatalf("publish log.SVC_B: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("publish to log.SVC_B was not refused")
	}
	if m, err := ownLog.NextMsg(5 * time.Second); err != nil || string(m.Data) != `{"msg":"mine"}` {
		t.Fatalf("own log: %v %v", m, err)
	}
	if m, err := otherLog.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("forged record reached log.SVC_B: %s", m.Data)
	}
	// Revoked credentials no longer connect.
	b.Revoke("SVC_A")
	if _, err := bus.Dial(ctx, credsA); err == nil {
		t.Fatal("revoked credentials still connect")
	}
}

// TestNoSecretInArgv: no credential appears in a child's command line.
func TestNoSecretInArgv(t *testing.T) {
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(h.PID()) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(h.PID()) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cmdline), "COUNTER_SERVICE") {
		t.Fatalf("cmdline %q does not name the service (wrong process?)", cmdline)
	}
	for _, secret := range []string{b.Credentials().Password} {
		if strings.Contains(string(cmdline), secret) || strings.Contains(string(environ), secret) {
			t.Fatal("the bus password is in the child's argv or environment")
		}
	}
	// Nor does the child's own password: it is a fresh one, unknown here,
	// so look for anything that looks like a credential.
	for _, word := range []string{"password", "nats://", "@127.0.0.1"} {
		if strings.Contains(strings.ToLower(string(cmdline)), word) {
			t.Fatalf("cmdline %q contains %q", cmdline, word)
		}
	}
}
