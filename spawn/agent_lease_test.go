package spawn

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
)

// TestAgentRefusesBadLease: a requester's lease becomes a subject token
// (its services' exit events go to bgkit.agent.<NAME>.exit.<lease>); one
// that is not a single token — a wildcard, dots, white space — is refused
// before anything starts.
func TestAgentRefusesBadLease(t *testing.T) {
	b := testBus(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	ready := &readyHandler{msg: "agent ready", ch: make(chan struct{})}
	go func() { served <- ServeAgent(ctx, b, "LT", slog.New(ready)) }()
	defer func() {
		cancel()
		<-served
	}()
	select {
	case <-ready.ch:
	case err := <-served:
		t.Fatalf("agent ended: %v", err)
	}
	subject := bus.ServiceSubject(agentServiceName("LT"), "spawn")
	for _, lease := range []string{"a.>", "*", "a b", "a.b"} {
		req := `{"kind":"ping","name":"LEASED","lease":"` + lease + `"}`
		m, err := b.Conn().Request(subject, []byte(req), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code := m.Header.Get("Nats-Service-Error-Code"); code != "400" {
			t.Errorf("lease %q: answered %q (code %q), want 400", lease, m.Data, code)
		}
	}
}

// readyHandler closes ch on the first record with message msg.
type readyHandler struct {
	msg  string
	ch   chan struct{}
	once sync.Once
}

func (h *readyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *readyHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}
func (h *readyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *readyHandler) WithGroup(string) slog.Handler      { return h }
