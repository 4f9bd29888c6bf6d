package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr bool
	}{
		{"COUNTER_SERVICE", false},
		{"ecu-sim-2", false},
		{"", true},
		{"A.B", true},
		{"A B", true},
		{"A*", true},
		{">", true},
		{strings.Repeat("A", 65), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := bus.ValidateName(tc.name)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, bus.ErrBadName)) {
				t.Fatalf("ValidateName(%q) = %v", tc.name, err)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	if got := bus.ServiceSubject("X", "add"); got != "svc.X.add" {
		t.Error(got)
	}
	if got := bus.LogSubject("X"); got != "log.X" {
		t.Error(got)
	}
	if got := bus.CANSubject("bus0"); got != "can.bus0" {
		t.Error(got)
	}
}

func TestCredentialsShareURLAndString(t *testing.T) {
	c := bus.Credentials{URL: "nats://127.0.0.1:4222", User: "u", Password: "p@ss"}
	if got := c.ShareURL(); got != "nats://u:p%40ss@127.0.0.1:4222" {
		t.Errorf("ShareURL = %q", got)
	}
	if s := c.String(); strings.Contains(s, "p@ss") || !strings.Contains(s, "user u") {
		t.Errorf("String = %q leaks or lacks the user", s)
	}
	if got := (bus.Credentials{URL: "nats://h:1", Token: "tok"}).ShareURL(); got != "nats://tok@h:1" {
		t.Errorf("token ShareURL = %q", got)
	}
}

func TestGrantRevoke(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Grant("SVC")
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "SVC" || c.Password == "" || c.Password == b.Credentials().Password || c.InboxPrefix != "_INBOX.bgkit_SVC" || !c.Embedded {
		t.Fatalf("grant = %+v", c)
	}
	if _, err := b.Grant("SVC"); !errors.Is(err, bus.ErrGranted) {
		t.Fatalf("second grant = %v", err)
	}
	if _, err := b.Grant("bad name"); !errors.Is(err, bus.ErrBadName) {
		t.Fatalf("bad name grant = %v", err)
	}
	child, err := bus.Dial(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	child.Close()
	b.Revoke("SVC")
	if _, err := b.Grant("SVC"); err != nil {
		t.Fatalf("grant after revoke = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := b.Grant("OTHER"); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("grant on closed bus = %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bus.Connect(ctx, "nats://127.0.0.1:1"); err == nil {
		t.Fatal("connected to a closed port")
	}
	if _, err := bus.Connect(context.Background(), "nats://127.0.0.1:1", bus.WithNKeyFile("/nonexistent")); err == nil || !strings.Contains(err.Error(), "nkey") {
		t.Fatalf("missing nkey file: %v", err)
	}
}

func TestIsInbox(t *testing.T) {
	for reply, want := range map[string]bool{
		"_INBOX.abc":                 true,
		"_INBOX.bgkit_X.abc.1":       true,
		"_INBOX_custom.x":            true,
		"_INBOX.":                    false,
		"_INBOX.a..b":                false,
		"_INBOX.*":                   false,
		"_INBOX.a.>":                 false,
		"_INBOX.a b":                 false,
		"_INBOX.a\tb":                false,
		"svc.X.m":                    false,
		"_INBOXES.x":                 false,
		"life.X":                     false,
		"_INBOX.a.*.c":               false,
		"_INBOX.ok." + "\x7f":        false,
		"_INBOX.gYpFm2Kf8VJ2nO3Zq.7": true,
	} {
		if got := bus.IsInbox(reply); got != want {
			t.Errorf("IsInbox(%q) = %v, want %v", reply, got, want)
		}
	}
}

// An embedded bus's log relays have a connection of their own to the same
// server, closed with the bus; an external bus has one connection.
func TestLogConn(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	lc := b.LogConn()
	if lc == b.Conn() || lc.IsClosed() {
		t.Fatalf("LogConn is the bus's Conn (%v) or closed (%v)", lc == b.Conn(), lc.IsClosed())
	}
	if b.LogConn() != lc {
		t.Fatal("a second call made another connection")
	}
	sub, err := lc.SubscribeSync("log.SAME")
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Publish("log.SAME", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "x" {
		t.Fatalf("published on Conn, on LogConn: %v, %v", m, err)
	}

	ext, err := bus.Connect(context.Background(), b.Credentials().URL,
		bus.WithUserInfo(b.Credentials().User, b.Credentials().Password), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if ext.LogConn() == ext.Conn() {
		t.Error("an external bus's log relays share its connection")
	}
	ext.Close()

	b.Close()
	if !lc.IsClosed() {
		t.Error("Close left the relays' connection open")
	}
	if c := b.LogConn(); !c.IsClosed() {
		t.Error("LogConn after Close made a connection")
	}
}

// A child of an embedded bus gets a short inbox of its own for its log
// acknowledgements: it may subscribe under it, another child may not.
func TestGrantLogInbox(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	form := regexp.MustCompile(`^_INBOX\.[0-9A-Za-z]{8}$`)
	ca, err := b.Grant("LOG_A")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Grant("LOG_B")
	if err != nil {
		t.Fatal(err)
	}
	if !form.MatchString(ca.LogInbox) || !form.MatchString(cb.LogInbox) || ca.LogInbox == cb.LogInbox {
		t.Fatalf("log inboxes %q, %q", ca.LogInbox, cb.LogInbox)
	}
	denied := make(chan error, 4)
	a, err := bus.Dial(context.Background(), ca)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Conn().SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied <- err })
	own, err := a.Conn().SubscribeSync(ca.LogInbox + ".h1.*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Conn().SubscribeSync(cb.LogInbox + ".>"); err != nil {
		t.Fatal(err)
	}
	if err := a.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-denied:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), cb.LogInbox) {
			t.Fatalf("subscribe under another child's log inbox: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a child subscribed under another child's log inbox")
	}
	if err := b.Conn().Publish(ca.LogInbox+".h1.7", []byte("ack")); err != nil {
		t.Fatal(err)
	}
	if m, err := own.NextMsg(5 * time.Second); err != nil || string(m.Data) != "ack" {
		t.Fatalf("under its own log inbox: %v, %v", m, err)
	}
	select {
	case err := <-denied:
		t.Fatalf("its own log inbox: %v", err)
	default:
	}
}

// countRecords counts the records a relay hands it and says when it has
// seen want of them.
type countRecords struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countRecords) Enabled(context.Context, slog.Level) bool { return true }
func (c *countRecords) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "rec" && c.n.Add(1) == c.want {
		close(c.done)
	}
	return nil
}
func (c *countRecords) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countRecords) WithGroup(string) slog.Handler      { return c }

// The relays' connection comes back when the server closes it (as it
// closes a slow consumer's), and the relays on it get what was published
// meanwhile from their publishers: nothing is lost.
func TestLogConnReconnects(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 500
	h := &countRecords{want: n / 2, done: make(chan struct{})}
	r, err := logfwd.NewRelay(b.LogConn(), "log.KICKED", h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := b.Credentials()
	pub, err := nats.Connect(c.URL, nats.UserInfo(c.User, c.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	lh := logfwd.NewHandler(pub, "log.KICKED", nil)
	l := slog.New(lh)
	for i := range n / 2 {
		l.Info("rec", "i", i)
	}
	// The relay has had records of this publisher (it knows whom to ask
	// for what it misses).
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d records relayed before the drop", h.n.Load(), n/2)
	}
	if err := bus.KickLogConn(b); err != nil {
		t.Fatal(err)
	}
	for i := range n / 2 {
		l.Info("rec", "i", n/2+i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatalf("%v: %d records relayed, %d lost, %d dropped", err, r.Count(), r.Lost(), r.Dropped())
	}
	if got := h.n.Load(); got != n || r.Lost() != 0 || r.Dropped() != 0 {
		t.Fatalf("%d of %d records relayed, %d lost, %d dropped", got, n, r.Lost(), r.Dropped())
	}
}

// On a bus whose server is the operator's, a child's log inbox is under
// its inbox prefix (which a user scoped with ChildPermissions may
// subscribe under), one of its own, known to the granting process before
// the child logs anything.
func TestGrantLogInboxExternal(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	ext, err := bus.Connect(context.Background(), srv.ClientURL(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	ca, errA := ext.Grant("LOG_A")
	cb, errB := ext.Grant("LOG_B")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for name, c := range map[string]bus.Credentials{"LOG_A": ca, "LOG_B": cb} {
		form := regexp.MustCompile(`^` + regexp.QuoteMeta(bus.ChildInboxPrefix(name)) + `\.[0-9A-Za-z]{8}$`)
		if !form.MatchString(c.LogInbox) || c.InboxPrefix != bus.ChildInboxPrefix(name) {
			t.Errorf("%s: log inbox %q (inbox prefix %q)", name, c.LogInbox, c.InboxPrefix)
		}
	}
}

// A name's bad character is named as the user wrote it: the character, not
// its first byte, and its position in characters.
func TestValidateNameSaysTheCharacter(t *testing.T) {
	err := bus.ValidateName("ECÜ_1")
	if err == nil || !strings.Contains(err.Error(), `has 'Ü' at 2`) {
		t.Fatalf("ValidateName(ECÜ_1) = %v, want it to name 'Ü' at 2", err)
	}
}
