package spawn

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bus"
)

type pingArgs struct {
	Port int `json:"port" validate:"min=1,max=65535"`
}

type PingService struct{ args pingArgs }

func newPing(a pingArgs) (*PingService, error)           { return &PingService{a}, nil }
func (*PingService) Initialize(context.Context) error    { return nil }
func (*PingService) Shutdown(context.Context) error      { return nil }
func (p *PingService) Port(context.Context) (int, error) { return p.args.Port, nil }

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
