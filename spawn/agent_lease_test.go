package spawn

import (
	"context"
	"errors"
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
	subject := agentCall("LT", "spawn")
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
// and Terminate stops it, with its exit status, even when the real event
// comes while the junk still fills the subscription and is dropped.
//
// The subscription holds a few messages, so that a small flood overflows
// it without also burying the agent's own traffic on the shared
// connection (the test's first version sent 120 MB through it, and the
// lease's renewal timed out behind them on a busy machine).
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
	// Bursts of 4 KiB that json.Unmarshal scans before it fails, until
	// the subscription has dropped some (the watcher reads while they
	// come); then events that are not this service's (Terminate would
	// return their error).
	junk := []byte(strings.Repeat("[", 4096))
	subject := agentSubject("FLOOD", "exit."+r.lease)
	for burst := 0; ; burst++ {
		if n, _ := r.exitSub.Dropped(); n > 0 {
			break
		}
		if burst == 100 {
			t.Fatal("100 bursts of 64 messages, none dropped")
		}
		for range 64 {
			if err := b.Conn().Publish(subject, junk); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, other := range []string{`{"error":"forged, no pid"}`, `{"pid":1,"error":"forged, another pid"}`} {
		if err := b.Conn().Publish(subject, []byte(other)); err != nil {
			t.Fatal(err)
		}
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

// TestAgentExitEventLostStillGivesExitStatus: a remote service's exit
// event is a plain message; were it lost on the way (a full
// subscription, a reconnect), the requester must still learn how the
// service exited, not report its agent lost. The requester here stops
// listening for the event before the service ends.
func TestAgentExitEventLostStillGivesExitStatus(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "DEAF")
	for _, stop := range []string{"terminate", "kill"} {
		t.Run(stop, func(t *testing.T) {
			h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 83}`), OnAgent("DEAF"),
				WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			r := h.current().(*remote)
			if err := r.exitSub.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			var ee *ExitError
			switch stop {
			case "terminate":
				if err := h.Terminate(context.Background()); err != nil {
					t.Fatalf("Terminate: %v", err)
				}
			case "kill":
				r.Kill() // SIGKILL, no SIGTERM before it
				<-h.Done()
				if errors.Is(h.Err(), ErrAgentLost) || !errors.As(h.Err(), &ee) {
					t.Fatalf("killed: %v, want its *ExitError", h.Err())
				}
			}
		})
	}
}
