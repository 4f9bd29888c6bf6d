package spawn

import (
	"context"
	"log/slog"
	"strings"
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
	serveAgent(t, b, "LT")
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

// serveAgent serves agent name on b until the test ends.
func serveAgent(t *testing.T, b *bus.Bus, name string) {
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	ready := &readyHandler{msg: "agent ready", ch: make(chan struct{})}
	go func() { served <- ServeAgent(ctx, b, name, slog.New(ready)) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	select {
	case <-ready.ch:
	case err := <-served:
		t.Fatalf("agent ended: %v", err)
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

// TestAgentExitSubjectFloodIsNoExit: junk flooding the subject of a
// remote service's exit event, past what its subscription holds (a slow
// consumer), is not taken for the service's exit: it keeps answering,
// and Terminate stops it, with its exit status.
func TestAgentExitSubjectFloodIsNoExit(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "FLOOD")
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 82}`), OnAgent("FLOOD"),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := h.current().(*remote)
	if !ok {
		t.Fatalf("instance %T, want *remote", h.current())
	}
	// 4 KiB that json.Unmarshal scans before it fails: the subscription's
	// 64 MiB fill up long before the watcher has read them.
	junk := []byte(strings.Repeat("[", 4096))
	subject := agentSubject("FLOOD", "exit."+r.lease)
	for range 30000 {
		if err := b.Conn().Publish(subject, junk); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	m, err := b.Conn().Request("svc.PING_SERVICE.port", nil, 10*time.Second)
	if err != nil || string(m.Data) != "82" {
		t.Fatalf("call after the flood: %v", err)
	}
	select {
	case <-h.Done():
		t.Fatalf("the flood ended the service: %v", h.Err())
	default:
	}
	if err := h.Terminate(context.Background()); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
}
