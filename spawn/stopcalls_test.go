package spawn

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// TestTerminateAnswersEveryCall: callers that keep calling a child of the
// embedded bus while Terminate stops it each get an answer — a result, a
// 503 (from the child, or from the parent once its server routes the
// calls no more: Bus.StopCalls), or at once "no responders" once the
// child is gone — none is left to time out, also the call a connection's
// reader was routing as the server stopped routing them to the child,
// which can reach the child late (the child's drain makes its round trip
// for it; without it 3 runs of 150 lost a call under -race). Half the
// callers are another service's (its scoped credentials), half the bus
// owner's.
func TestTerminateAnswersEveryCall(t *testing.T) {
	b := testBus(t)
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	scoped, err := b.Grant("CALLER_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Revoke("CALLER_SERVICE")
	for round := range 5 {
		h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 80}`), quiet)
		if err != nil {
			t.Fatal(err)
		}
		owners, err := bus.Dial(context.Background(), b.Credentials())
		if err != nil {
			t.Fatal(err)
		}
		others, err := bus.Dial(context.Background(), scoped)
		if err != nil {
			t.Fatal(err)
		}
		var ok, refused, gone atomic.Int64
		var wg sync.WaitGroup
		started := make(chan struct{})
		var once sync.Once
		for i := range 32 {
			callers := owners
			if i%2 == 1 {
				callers = others
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					m, err := callers.Conn().Request("svc.PING_SERVICE.port", nil, 2*time.Second)
					switch {
					case errors.Is(err, nats.ErrNoResponders):
						gone.Add(1)
						return // stopped
					case err != nil:
						t.Errorf("round %d: call: %v", round, err)
						return
					case m.Header.Get("Nats-Service-Error-Code") == "503":
						refused.Add(1)
					case m.Header.Get("Nats-Service-Error-Code") == "" && string(m.Data) == "80":
						ok.Add(1)
					default:
						t.Errorf("round %d: reply %q %v", round, m.Data, m.Header)
						return
					}
					if n == 20 {
						once.Do(func() { close(started) })
					}
				}
			}()
		}
		<-started
		if err := h.Terminate(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		owners.Close()
		others.Close()
		if gone.Load() != 32 {
			t.Errorf("round %d: %d callers saw the service gone, want 32", round, gone.Load())
		}
		t.Logf("round %d: %d answered, %d refused (503), %d no responders", round, ok.Load(), refused.Load(), gone.Load())
	}
}

// TestNameServesAgainAfterTerminate: the calls Terminate stopped routing
// (Bus.StopCalls) are routed again once the child is gone: the next child
// of the same name answers at once, round after round.
func TestNameServesAgainAfterTerminate(t *testing.T) {
	b := testBus(t)
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	for round := range 10 {
		h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 81}`), quiet)
		if err != nil {
			t.Fatal(err)
		}
		m, err := b.Conn().Request("svc.PING_SERVICE.port", nil, 5*time.Second)
		if err != nil {
			t.Fatalf("round %d: call after the start: %v", round, err)
		}
		if string(m.Data) != "81" {
			t.Fatalf("round %d: call after the start: %q", round, m.Data)
		}
		if err := h.Terminate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
