package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// TestStopAnswersEveryRequest: requests that keep coming while a service
// stops are each answered — with a result, a 503, or at once "no
// responders" once it has unsubscribed — none is left to time out.
func TestStopAnswersEveryRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  func(*gateService) service.Service
		opts []service.Option
	}{
		{"a quick Shutdown", func(g *gateService) service.Service { return g }, nil},
		// Without the drain's round trip, requests the server routed while
		// Shutdown ran found no subscription and timed out at their callers.
		{"a Shutdown that takes its whole budget", func(g *gateService) service.Service { return budgetShutdown{g} },
			[]service.Option{service.WithShutdownTimeout(100 * time.Millisecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) { stopAnswersEveryRequest(t, tc.svc, tc.opts) })
	}
}

func stopAnswersEveryRequest(t *testing.T, wrap func(*gateService) service.Service, opts []service.Option) {
	for round := range 5 {
		svc := &gateService{gate: make(chan struct{})}
		close(svc.gate)
		b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- service.Run(ctx, b, wrap(svc), append([]service.Option{service.WithName("STOPPING"),
				service.WithLogger(slog.New(slog.DiscardHandler)),
				service.WithOnReady(func(service.Info) { close(ready) })}, opts...)...)
		}()
		<-ready
		callers, err := bus.Dial(context.Background(), b.Credentials())
		if err != nil {
			t.Fatal(err)
		}
		var ok, refused, gone, lost atomic.Int64
		var wg sync.WaitGroup
		started := make(chan struct{})
		var once sync.Once
		quit := make(chan struct{})
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-quit:
						return
					default:
					}
					m, err := callers.Conn().Request("svc.STOPPING.fast", []byte("1"), 2*time.Second)
					switch {
					case errors.Is(err, nats.ErrNoResponders):
						gone.Add(1)
						return // stopped
					case err != nil:
						lost.Add(1)
						t.Errorf("round %d: request: %v", round, err)
						return
					case m.Header.Get("Nats-Service-Error-Code") == "503":
						refused.Add(1)
					case m.Header.Get("Nats-Service-Error-Code") == "":
						ok.Add(1)
					default:
						t.Errorf("round %d: reply %q %v", round, m.Data, m.Header)
					}
					if n == 20 {
						once.Do(func() { close(started) })
					}
				}
			}()
		}
		<-started
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		close(quit)
		wg.Wait()
		callers.Close()
		t.Logf("round %d: %d answered, %d refused (503), %d no responders, %d left unanswered", round, ok.Load(), refused.Load(), gone.Load(), lost.Load())
	}
}

// budgetShutdown's Shutdown takes its whole budget (it waits for its ctx),
// as one that flushes a recorder to a slow disk may.
type budgetShutdown struct{ *gateService }

func (budgetShutdown) Shutdown(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// TestStopRefusesWhatIsQueued: a stopping service answers 503 every
// request queued behind a slow call, and the slow call its result.
func TestStopRefusesWhatIsQueued(t *testing.T) {
	svc := &gateService{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, svc, service.WithName("QUEUED"), service.WithConcurrency(1),
			service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	callers, err := bus.Dial(context.Background(), b.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	defer callers.Close()
	inbox := callers.Conn().NewInbox() // a reply subject the service accepts
	replies, err := callers.Conn().SubscribeSync(inbox + ".>")
	if err != nil {
		t.Fatal(err)
	}
	if err := callers.Conn().PublishRequest("svc.QUEUED.block", inbox+".block", nil); err != nil {
		t.Fatal(err)
	}
	<-svc.entered // the one reader is in Block
	const queued = 16
	for i := range queued {
		if err := callers.Conn().PublishRequest("svc.QUEUED.fast", fmt.Sprintf("%s.%d", inbox, i), []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	// The server has routed them (the callers' round trip), and the
	// service's connection has read them (its own, after that).
	if err := callers.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	cancel()
	refused := 0
	for range queued + 1 {
		m, err := replies.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("%d refused, then: %v", refused, err)
		}
		switch code := m.Header.Get("Nats-Service-Error-Code"); {
		case m.Subject == inbox+".block":
			if code != "" {
				t.Errorf("the slow call: %s %q", code, m.Data)
			}
		case code == "503":
			refused++
		default:
			t.Errorf("%s: %q %q", m.Subject, code, m.Data)
		}
	}
	if refused != queued {
		t.Fatalf("%d of %d queued requests refused", refused, queued)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
