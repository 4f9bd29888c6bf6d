package spawn

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// TestHostileChildCannotSpawnOnAgent: a child may publish on svc.>,
// so it may call an agent's spawn endpoint, which asks nothing of its
// caller but a lease the caller makes up. A hostile child can so start a
// registered kind under any free name, with arguments of its choosing,
// as the agent's (trusted) child: a process that then answers calls to
// that name and whose life.NAME events come from the agent. The parent's
// own start of that name fails as a duplicate.
func TestHostileChildCannotSpawnOnAgent(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "RIG")
	hb := hostileChild(t, b)
	req := `{"kind":"ping","name":"VICTIM","args":{"port":31337},"lease":"hostilelease","grace":1000000000}`
	var m *nats.Msg
	for _, subject := range []string{bus.ServiceSubject(agentServiceName("RIG"), "spawn"), agentCall("RIG", "spawn")} {
		r, err := hb.Conn().Request(subject, []byte(req), 500*time.Millisecond)
		if err != nil {
			continue // no responder there, or a subject the child may not publish on
		}
		if code, _, failed := bus.ReplyError(r); failed {
			t.Logf("%s refused: %d %s", subject, code, r.Header.Get("Nats-Service-Error"))
			continue
		}
		m = r
	}
	if m == nil {
		return // the promise holds
	}
	defer func() {
		// stop what the hostile child started (its lease)
		_, _ = hb.Conn().Request(bus.ServiceSubject(agentServiceName("RIG"), "kill"),
			[]byte(`{"name":"VICTIM","lease":"hostilelease"}`), 2*time.Second)
		time.Sleep(300 * time.Millisecond)
	}()
	_, runErr := Run(context.Background(), b, newPing, pingArgs{Port: 1}, WithName("VICTIM"),
		WithStartTimeout(3*time.Second), WithLogger(slog.New(slog.DiscardHandler)))
	t.Fatalf("the agent spawned VICTIM for the hostile child HOSTILE (answer %s); the parent's own start of VICTIM then: %v (duplicate: %v)",
		m.Data, runErr, errors.Is(runErr, ErrDuplicateName))
}
