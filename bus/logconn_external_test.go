package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
)

// startExternal runs a nats-server in this process as an operator's
// would be (not the embedded one: the bus only connects to it), shut
// down at cleanup. Options are set on a copy of o.
func startExternal(t *testing.T, o server.Options) *server.Server {
	t.Helper()
	o.Host, o.Port, o.NoSigs, o.NoLog = "127.0.0.1", -1, true, true
	srv, err := server.NewServer(&o)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return srv
}

// countingDialer dials TCP and counts the dials.
type countingDialer struct{ n atomic.Int32 }

func (d *countingDialer) Dial(network, address string) (net.Conn, error) {
	d.n.Add(1)
	return net.Dial(network, address)
}

// On an external bus too the log relays have a connection of their own,
// so that a child's log flood cannot take the bus's down: dialled with
// the bus's credentials and options (its dialer, its reconnect window),
// named after it, and closed with the bus.
func TestExternalLogConn(t *testing.T) {
	srv := startExternal(t, server.Options{Username: "rig", Password: "s3cret-pass"})
	d := &countingDialer{}
	b, err := bus.Connect(context.Background(), srv.ClientURL(),
		bus.WithUserInfo("rig", "s3cret-pass"), bus.WithClientName("rig-a"), bus.WithDialer(d),
		bus.WithReconnectWindow(30*time.Second), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, lc := b.Conn(), b.LogConn()
	if lc == nc || !lc.IsConnected() {
		t.Fatalf("LogConn is the bus's Conn (%v), or not connected (%v)", lc == nc, lc.Status())
	}
	if b.LogConn() != lc {
		t.Fatal("a second call made another connection")
	}
	if n := d.n.Load(); n != 2 {
		t.Errorf("the dialer made %d connections, want 2 (the bus's, the relays')", n)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"name", lc.Opts.Name, "rig-a logs"},
		{"user", lc.Opts.User, nc.Opts.User},
		{"password", lc.Opts.Password, nc.Opts.Password},
		{"max reconnects", lc.Opts.MaxReconnect, nc.Opts.MaxReconnect},
		{"reconnect wait", lc.Opts.ReconnectWait, nc.Opts.ReconnectWait},
		{"reconnect buffer", lc.Opts.ReconnectBufSize, nc.Opts.ReconnectBufSize},
		{"reconnect jitter", lc.Opts.ReconnectJitter, nc.Opts.ReconnectJitter},
		{"timeout", lc.Opts.Timeout, nc.Opts.Timeout},
		{"allow reconnect", lc.Opts.AllowReconnect, nc.Opts.AllowReconnect},
	} {
		if tc.got != tc.want {
			t.Errorf("the relays' connection's %s is %v, the bus's %v", tc.name, tc.got, tc.want)
		}
	}
	if nc.Opts.MaxReconnect != int(30*time.Second/nc.Opts.ReconnectWait) {
		t.Errorf("the bus's max reconnects %d: not WithReconnectWindow's", nc.Opts.MaxReconnect)
	}
	sub, err := lc.SubscribeSync("log.SAME")
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("log.SAME", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "x" {
		t.Fatalf("published on Conn, on LogConn: %v, %v", m, err)
	}
	b.Close()
	if !lc.IsClosed() {
		t.Error("Close left the relays' connection open")
	}
	if c := b.LogConn(); !c.IsClosed() {
		t.Error("LogConn after Close made a connection")
	}
}

// A child of an embedded bus relays no logs: its LogConn is its Conn.
func TestChildLogConnIsConn(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	creds, err := b.Grant("CHILD")
	if err != nil {
		t.Fatal(err)
	}
	child, err := bus.Dial(context.Background(), creds, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if child.LogConn() != child.Conn() {
		t.Error("a child of an embedded bus made a second connection")
	}
}

// When the external server of the relays' connection dies, the
// connection fails over to another server of the cluster and the relays
// on it ask their publishers for what was published meanwhile: nothing
// is lost.
func TestExternalLogConnFailover(t *testing.T) {
	cluster := server.ClusterOpts{Name: "bgkit-test", Host: "127.0.0.1", Port: -1}
	a := startExternal(t, server.Options{ServerName: "A", Cluster: cluster})
	routeA := server.RoutesFromStr(fmt.Sprintf("nats://127.0.0.1:%d", a.ClusterAddr().Port))
	bSrv := startExternal(t, server.Options{ServerName: "B", Cluster: cluster, Routes: routeA})
	for deadline := time.Now().Add(10 * time.Second); a.NumRoutes() == 0 || bSrv.NumRoutes() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the servers did not route in 10 s")
		}
	}
	// The bus knows only A; it learns B from the cluster. The dialer
	// keeps it off B until the records published meanwhile are gone.
	d := &gatedDialer{}
	b, err := bus.Connect(context.Background(), a.ClientURL(), bus.WithDialer(d), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pub, err := nats.Connect(bSrv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const n = 500
	inbox := bus.ChildInboxPrefix("FAILOVER") + ".logs"
	h := &countRecords{want: n / 2, done: make(chan struct{})}
	lc := b.LogConn()
	r, err := logfwd.NewRelayWith(lc, "log.FAILOVER", h, logfwd.RelayOptions{Inbox: inbox})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lh := logfwd.NewHandlerInbox(pub, "log.FAILOVER", inbox, nil)
	l := slog.New(lh)
	for i := range n / 2 {
		l.Info("rec", "i", i)
	}
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d records relayed before the failover", h.n.Load(), n/2)
	}
	d.refuse.Store(true)
	a.Shutdown()
	for deadline := time.Now().Add(10 * time.Second); lc.IsConnected(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the relays' connection still connected 10 s after its server's shutdown")
		}
	}
	// Published while the relays' connection has no server: B drops them.
	for i := range n / 2 {
		l.Info("rec", "i", n/2+i)
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := h.n.Load(); got >= n {
		t.Fatalf("%d records relayed while the relays' connection was down", got)
	}
	d.refuse.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for h.n.Load() < n && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err := lh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitEOF(ctx); err != nil {
		t.Fatalf("%v: %d records relayed, %d lost, %d dropped; the relays' connection: %v, %d reconnects",
			err, r.Count(), r.Lost(), r.Dropped(), lc.Status(), lc.Stats().Reconnects)
	}
	if got := h.n.Load(); got != n || r.Lost() != 0 || r.Dropped() != 0 {
		t.Fatalf("%d of %d records relayed, %d lost, %d dropped", got, n, r.Lost(), r.Dropped())
	}
	if lc.Stats().Reconnects == 0 || lc.ConnectedServerName() != "B" {
		t.Errorf("the relays' connection: %d reconnects, on %q; want on B", lc.Stats().Reconnects, lc.ConnectedServerName())
	}
}

// gatedDialer dials TCP unless refuse is set.
type gatedDialer struct{ refuse atomic.Bool }

func (d *gatedDialer) Dial(network, address string) (net.Conn, error) {
	if d.refuse.Load() {
		return nil, errors.New("refused by the test")
	}
	return net.Dial(network, address)
}
