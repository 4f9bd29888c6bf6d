package spawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type pingArgs struct {
	Port int `json:"port" validate:"min=1,max=65535"`
}

type PingService struct{ args pingArgs }

func newPing(a pingArgs) (*PingService, error)           { return &PingService{a}, nil }
func (*PingService) Initialize(context.Context) error    { return nil }
func (*PingService) Shutdown(context.Context) error      { return nil }
func (p *PingService) Port(context.Context) (int, error) { return p.args.Port, nil }

// Say logs msg at INFO.
func (*PingService) Say(_ context.Context, msg string) (bool, error) {
	slog.Info(msg)
	return true, nil
}

// Procs is the child's GOMAXPROCS, and the variable its own children get.
func (*PingService) Procs(context.Context) (string, error) {
	return fmt.Sprintf("%d %q", runtime.GOMAXPROCS(0), os.Getenv("GOMAXPROCS")), nil
}

func TestMain(m *testing.M) {
	RegisterKind("ping", newPing)
	Main()
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

func testBus(t *testing.T) *bus.Bus {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestChildValidatesArgs: arguments that reach the child unvalidated (say,
// from another parent) fail the start with the child's message.
func TestChildValidatesArgs(t *testing.T) {
	b := testBus(t)
	e, _ := lookupKind("ping")
	for _, tc := range []struct{ name, args, want string }{
		{"invalid", `{"port": 70000}`, "port"},
		{"undecodable", `{"port": "x"}`, `port: must be a number, got string "x"`},
		{"unknown field", `{"port": 1, "host": "h"}`, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := start(context.Background(), request{bus: b, entry: e, kind: "ping", name: "PING_SERVICE",
				args: []byte(tc.args), opts: buildOptions([]Option{WithLogger(slog.New(slog.DiscardHandler))})})
			if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "exit status 2") {
				t.Fatalf("err = %v, want ErrStart naming %q with exit status 2", err, tc.want)
			}
		})
	}
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 80}`), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Terminate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRegistry(t *testing.T) {
	if got := Kinds(); len(got) != 1 || got[0] != "ping" {
		t.Fatalf("Kinds = %v", got)
	}
	if name, ok := KindServiceName("ping"); !ok || name != "PING_SERVICE" {
		t.Fatalf("KindServiceName = %q", name)
	}
	if err := CheckKindArgs("ping", []byte(`{"port":0}`)); err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("CheckKindArgs = %v", err)
	}
	if err := CheckKindArgs("nope", nil); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("unknown kind = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a kind twice did not panic")
		}
	}()
	RegisterKind("ping", newPing)
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 10}
	for _, l := range []string{"aaaa", "bbbb", "cccc"} {
		tb.add(l)
	}
	if got := tb.String(); got != "bbbb\ncccc" {
		t.Fatalf("tail = %q", got)
	}
}

// A child runs on one P a moment after it is ready (onePAfter) unless its
// environment says otherwise (with WithEnv, or inherited from the parent's).
func TestChildGOMAXPROCS(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the test's environment")
	}
	b := testBus(t)
	// procs calls the child's Procs every few ms for twice onePAfter, or
	// until it says until (if not empty); it returns every answer.
	procs := func(name, until string, opts ...Option) []string {
		t.Helper()
		opts = append([]Option{WithName(name), WithLogger(slog.New(slog.DiscardHandler))}, opts...)
		h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Terminate(context.Background())
		c, err := controller.Connect(context.Background(), b, name)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var seen []string
		for end := time.Now().Add(2 * onePAfter); ; time.Sleep(5 * time.Millisecond) {
			var s string
			if err := c.Call(context.Background(), "procs", nil, &s); err != nil {
				t.Fatal(err)
			}
			if len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
			if s == until || (until == "" && time.Now().After(end)) || time.Since(end) > 5*time.Second {
				return seen
			}
		}
	}
	// "1 \"\"": one P, and the service's own children get no GOMAXPROCS.
	if s := procs("PROCS_DEFAULT", `1 ""`); s[len(s)-1] != `1 ""` {
		t.Errorf("child GOMAXPROCS, environment: %q, want 1 \"\" in the end", s)
	}
	if s := procs("PROCS_SET", "", WithEnv("GOMAXPROCS=3")); len(s) != 1 || s[0] != `3 "3"` {
		t.Errorf("with WithEnv(GOMAXPROCS=3): %q", s)
	}
	t.Setenv("GOMAXPROCS", "2")
	if s := procs("PROCS_INHERITED", ""); len(s) != 1 || s[0] != `2 "2"` {
		t.Errorf("with the parent's GOMAXPROCS=2: %q", s)
	}
}

// The parent's copy of a child's bus connection (held until the child's
// logs are in) is closed when Terminate returns: no client end of a
// connection to the bus is left open in this process.
func TestNoBusConnectionLeftAfterTerminate(t *testing.T) {
	b := testBus(t)
	u, err := url.Parse(b.Credentials().URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.ParseUint(u.Port(), 10, 16)
	b.LogConn() // the bus's own, for the relays: it stays
	if n := clientEnds(t, uint16(port)); n != 1 {
		t.Fatalf("%d client ends of bus connections open here before any child, want 1 (the relays')", n)
	}
	for i := range 5 {
		h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`),
			WithName(fmt.Sprintf("FD%d", i)), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if n := clientEnds(t, uint16(port)); n != 2 {
			t.Errorf("spawn %d: %d client ends of bus connections open here while the child runs, want 2 (the relays', the held copy)", i, n)
		}
		if err := h.Terminate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := clientEnds(t, uint16(port)); n != 1 {
			t.Fatalf("spawn %d: %d client ends of bus connections open here after Terminate, want 1 (the relays')", i, n)
		}
	}
}

// clientEnds counts this process's descriptors of TCP sockets connected
// to port (client ends: the remote port is port).
func clientEnds(t *testing.T, port uint16) int {
	t.Helper()
	tcp, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp:", err)
	}
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(tcp), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		_, rem, _ := strings.Cut(f[2], ":")
		if p, err := strconv.ParseUint(rem, 16, 16); err == nil && uint16(p) == port {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && inodes[l] {
			n++
		}
	}
	return n
}

// serverEnds counts the established TCP connections that the server on
// port accepted (their local port is port), in any process.
func serverEnds(t *testing.T, port uint16) int {
	t.Helper()
	tcp, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp:", err)
	}
	n := 0
	for _, line := range strings.Split(string(tcp), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" { // ESTABLISHED
			continue
		}
		_, loc, _ := strings.Cut(f[1], ":")
		if p, err := strconv.ParseUint(loc, 16, 16); err == nil && uint16(p) == port {
			n++
		}
	}
	return n
}

// readyRecords keeps the "child ready" records of a spawn's logger.
type readyRecords struct {
	mu  sync.Mutex
	via []string
}

func (h *readyRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *readyRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *readyRecords) WithGroup(string) slog.Handler            { return h }
func (h *readyRecords) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "child ready" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "via" {
				h.mu.Lock()
				h.via = append(h.via, a.Value.String())
				h.mu.Unlock()
			}
			return true
		})
	}
	return nil
}

// A child of an embedded bus serves on the connection its parent made and
// authenticated for it (one connection, no second dial), and its parent
// learns it is ready from the bus, right after its subscriptions: calls
// made at once find it.
func TestChildServesOnItsParentsConnection(t *testing.T) {
	b := testBus(t)
	u, err := url.Parse(b.Credentials().URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.ParseUint(u.Port(), 10, 16)
	b.LogConn() // the bus's own connection for the relays
	base := serverEnds(t, uint16(port))
	rec := &readyRecords{}
	const n = 10
	for i := range n {
		name := fmt.Sprintf("HANDSHAKE%d", i)
		h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), WithName(name), WithLogger(slog.New(rec)))
		if err != nil {
			t.Fatal(err)
		}
		c, err := controller.Connect(context.Background(), b, name)
		if err != nil {
			t.Fatal(err)
		}
		var p int
		if err := c.Call(context.Background(), "port", nil, &p); err != nil || p != 7 {
			t.Errorf("%s: port() = %d, %v right after the spawn", name, p, err)
		}
		c.Close()
		if got := serverEnds(t, uint16(port)) - base; got != 1 {
			t.Errorf("%s: %d connections to the server while the child runs (besides the bus's), want 1 (the one its parent made)", name, got)
		}
		if err := h.Terminate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if bus := slices.Index(rec.via, "bus"); len(rec.via) != n || bus < 0 {
		t.Errorf("ready via %q: want %d, the bus among them", rec.via, n)
	} else {
		t.Logf("ready via %q", rec.via)
	}
}

// childPIDs are the processes whose parent is this one.
func childPIDs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	var pids []string
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ')'.
		if f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:])); len(f) > 1 && f[1] == me {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// A name another process serves is refused (409), and the child exec'd
// meanwhile is gone when spawn returns.
func TestSpawnRefusesANameServedElsewhere(t *testing.T) {
	b := testBus(t)
	other, err := bus.Dial(context.Background(), b.Credentials(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, other, &PingService{}, service.WithName("TAKEN"),
			service.WithLogger(slog.New(slog.DiscardHandler)), service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	stopOther := sync.OnceValue(func() error { cancel(); return <-done })
	defer stopOther()
	before := childPIDs(t)
	_, err = RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), WithName("TAKEN"), WithLogger(slog.New(slog.DiscardHandler)))
	if !errors.Is(err, ErrDuplicateName) || !strings.Contains(err.Error(), "already answers on this bus") {
		t.Fatalf("spawn of a name served elsewhere: %v, want ErrDuplicateName", err)
	}
	if after := childPIDs(t); len(after) != len(before) {
		t.Errorf("children before the spawn %v, after %v", before, after)
	}
	// The name is free again for this process once the other stops.
	if err := stopOther(); err != nil {
		t.Fatal(err)
	}
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), WithName("TAKEN"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Terminate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// controller.Connect asks no $SRV.PING of a service this process's own
// child serves (spawn has seen it ready); once the child has exited it
// asks again, and finds nobody.
func TestConnectTrustsItsOwnChild(t *testing.T) {
	b := testBus(t)
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), WithName("TRUSTED"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	before := b.Conn().Stats().OutMsgs
	c, err := controller.Connect(context.Background(), b, "TRUSTED")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := b.Conn().Stats().OutMsgs - before; n != 0 {
		t.Errorf("Connect to this process's child published %d messages (a ping), want none", n)
	}
	var p int
	if err := c.Call(context.Background(), "port", nil, &p); err != nil || p != 7 {
		t.Errorf("port() = %d, %v", p, err)
	}
	if err := h.Terminate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Without a ping Connect would not know.
	if _, err := controller.Connect(context.Background(), b, "TRUSTED"); !errors.Is(err, controller.ErrNoService) {
		t.Errorf("Connect after Terminate: %v, want ErrNoService", err)
	}
}
