package spawn

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
)

// TestAgentStopsOnlyForItsRequester: any client on the bus may call
// an agent's endpoints (a child may publish svc.>). Terminating or killing
// a service the agent runs must take the lease of the requester that
// spawned it, or a hostile child stops another's service by its name.
func TestAgentStopsOnlyForItsRequester(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "RA")
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 84}`), OnAgent("RA"),
		WithName("VICTIM"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	hb := hostileChild(t, b)
	for _, verb := range []string{"kill", "term"} {
		for _, body := range []string{`{"name":"VICTIM"}`, `{"name":"VICTIM","lease":"guess"}`} {
			// A child may not publish on bgkit.agent.>: no answer at all.
			m, err := hb.Conn().Request(agentCall("RA", verb), []byte(body), 300*time.Millisecond)
			if err != nil {
				continue
			}
			if code, _, failed := bus.ReplyError(m); !failed || code < 400 {
				t.Errorf("%s %s from another child: answered %q (code %d), want a refusal", verb, body, m.Data, code)
			}
		}
	}
	// The victim was neither killed nor stopped: it still answers, and
	// its requester's Terminate is a clean exit.
	if m, err := b.Conn().Request("svc.VICTIM.port", nil, 5*time.Second); err != nil || string(m.Data) != "84" {
		t.Errorf("call to the victim: %v", err)
	}
	if err := h.Terminate(context.Background()); err != nil {
		var ee *ExitError
		t.Errorf("Terminate: %v (exit error: %v)", err, errors.As(err, &ee))
	}
}
