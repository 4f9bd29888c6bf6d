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
	"github.com/bgkit/bgkit/embeddednats"
)

// A process that joins an embedded bus by its URL (bgkit run against the bus
// of bgkit up) gets scoped credentials for its children from the bus's
// owner, not its own administrator credentials (issue 9, finding 7).
func TestGrantFromAnotherProcess(t *testing.T) {
	ctx := context.Background()
	quiet := bus.WithLogger(slog.New(slog.DiscardHandler))
	owner, err := bus.Start(ctx, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	joiner, err := bus.Connect(ctx, owner.Credentials().ShareURL(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer joiner.Close()
	c, err := joiner.Grant("RUN_CHILD")
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "RUN_CHILD" || c.Password == "" || strings.Contains(c.URL, owner.Credentials().Password) || !c.Embedded {
		t.Fatalf("grant = %+v", c)
	}
	if _, err := joiner.Grant("RUN_CHILD"); !errors.Is(err, bus.ErrGranted) {
		t.Fatalf("second grant: %v", err)
	}
	if _, err := owner.Grant("RUN_CHILD"); !errors.Is(err, bus.ErrGranted) {
		t.Fatalf("owner's grant of a name granted remotely: %v", err)
	}
	child, err := bus.Dial(ctx, c, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	denied := make(chan error, 4)
	child.Conn().SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied <- err })
	_ = child.Conn().Publish("log.OTHER", []byte(`{}`))
	_ = child.Conn().Flush()
	select {
	case err := <-denied:
		if !strings.Contains(err.Error(), "log.OTHER") {
			t.Fatalf("publish log.OTHER: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a remotely granted child published to another's log")
	}
	closed := make(chan struct{})
	child.Conn().SetClosedHandler(func(*nats.Conn) { close(closed) })
	joiner.Revoke("RUN_CHILD")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("revoke did not close the child's connection")
	}
	if _, err := bus.Dial(ctx, c, quiet); err == nil {
		t.Fatal("revoked credentials still connect")
	}
	// Children cannot ask for credentials themselves.
	spyCreds, err := owner.Grant("SPY")
	if err != nil {
		t.Fatal(err)
	}
	spy, err := bus.Dial(ctx, spyCreds, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	spy.Conn().SetErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	if _, err := spy.Conn().Request(bus.GrantSubject, []byte(`{"name":"X"}`), time.Second); err == nil {
		t.Fatal("a child was granted credentials")
	}
}

// TestGrantRightAfterStart: the owner serves grants from the moment Start
// returns, and a joiner of an embedded server never falls back to sharing
// its own (administrator) credentials with a child: without an answer to
// its grant request it fails.
func TestGrantRightAfterStart(t *testing.T) {
	ctx := context.Background()
	quiet := bus.WithLogger(slog.New(slog.DiscardHandler))
	for i := range 50 {
		owner, err := bus.Start(ctx, quiet)
		if err != nil {
			t.Fatal(err)
		}
		joiner, err := bus.Connect(ctx, owner.Credentials().ShareURL(), quiet)
		if err != nil {
			owner.Close()
			t.Fatal(err)
		}
		c, err := joiner.Grant("RUN_CHILD")
		if err != nil || c.User != "RUN_CHILD" {
			t.Fatalf("round %d: grant = user %q, %v; want RUN_CHILD's own", i, c.User, err)
		}
		joiner.Close()
		owner.Close()
	}
}

// TestJoinerOfAnEmbeddedBusNeverSharesItsCredentials: an embedded server
// whose owner grants nothing (here: a bare embeddednats server) refuses the
// joiner's Grant instead of handing out the administrator's password.
func TestJoinerOfAnEmbeddedBusNeverSharesItsCredentials(t *testing.T) {
	ctx := context.Background()
	srv, err := embeddednats.Start(embeddednats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	admin := bus.Credentials{URL: srv.ClientURL(), User: embeddednats.AdminUser, Password: srv.AdminPassword()}
	joiner, err := bus.Connect(ctx, admin.ShareURL(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer joiner.Close()
	c, err := joiner.Grant("RUN_CHILD")
	if !errors.Is(err, bus.ErrNoGrant) {
		t.Fatalf("grant on an embedded server that grants nothing = %+v, %v; want ErrNoGrant", c, err)
	}
}
