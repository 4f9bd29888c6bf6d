package spawn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
)

// EnvService reports the bus variables of its environment.
type EnvService struct{}

func newEnvService(struct{}) (*EnvService, error)    { return &EnvService{}, nil }
func (*EnvService) Initialize(context.Context) error { return nil }
func (*EnvService) Shutdown(context.Context) error   { return nil }

// Env returns the variables with which the CLI finds the bus and
// authenticates, as this process has them.
func (*EnvService) Env(context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range []string{"NATS_URL", "NATS_PASSWORD", "NATS_TOKEN", "KEPT"} {
		if v, ok := os.LookupEnv(k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// Tree returns the BGKIT_TREE entries of its environment.
func (*EnvService) Tree(context.Context) ([]string, error) {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, envTree+"=") {
			out = append(out, kv)
		}
	}
	return out, nil
}

var _ = func() bool { Register(newEnvService); return true }()

// TestChildEnvHoldsNoBusSecrets: a parent that found its bus through
// NATS_URL (bgkit run against the bus of bgkit up, whose NATS_URL line
// carries the administrator's password) must not hand that to its
// children in their environment: they get their own scoped credentials,
// and "its children never hold the administrator's". Variables given with
// WithEnv are the caller's choice and kept.
func TestChildEnvHoldsNoBusSecrets(t *testing.T) {
	t.Setenv("NATS_URL", "nats://bgkit-admin:ADMINSECRET@127.0.0.1:1")
	t.Setenv("NATS_PASSWORD", "ADMINSECRET")
	t.Setenv("NATS_TOKEN", "ADMINTOKEN")
	t.Setenv("KEPT", "yes")
	b := testBus(t)
	for _, tc := range []struct {
		name string
		opts []Option
		want map[string]string
	}{
		{"inherited", nil, map[string]string{"KEPT": "yes"}},
		{"given", []Option{WithEnv("NATS_TOKEN=chosen")}, map[string]string{"KEPT": "yes", "NATS_TOKEN": "chosen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Run(context.Background(), b, newEnvService, struct{}{},
				append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Terminate(context.Background())
			m, err := b.Conn().Request(bus.ServiceSubject(h.ServiceName(), "env"), nil, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal(m.Data, &got); err != nil {
				t.Fatalf("reply %q: %v", m.Data, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("child's environment has %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("child's environment has %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestChildTreeTokenIsItsOwn: each child carries one tree token of its
// own (what the crash sweep finds its escaped descendants by), not one
// its parent inherited: a service that spawns services must not have
// their descendants swept when it crashes, nor its own when one of them
// does.
func TestChildTreeTokenIsItsOwn(t *testing.T) {
	t.Setenv(envTree, "INHERITED")
	b := testBus(t)
	seen := map[string]bool{}
	for i := range 2 {
		h, err := Run(context.Background(), b, newEnvService, struct{}{},
			WithName(fmt.Sprintf("TREE%d", i)), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Terminate(context.Background())
		m, err := b.Conn().Request(bus.ServiceSubject(h.ServiceName(), "tree"), nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := json.Unmarshal(m.Data, &got); err != nil {
			t.Fatalf("reply %q: %v", m.Data, err)
		}
		if len(got) != 1 || got[0] == envTree+"=INHERITED" || got[0] == envTree+"=" || seen[got[0]] {
			t.Fatalf("child's %s entries: %q (seen before: %v), want one token of its own", envTree, got, seen)
		}
		seen[got[0]] = true
	}
}
