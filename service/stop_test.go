package service_test

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
	"github.com/bgkit/bgkit/service"
)

// TestStopAnswersEveryRequest: requests that keep coming while a service
// stops are each answered — with a result, a 503, or at once "no
// responders" once it has unsubscribed — none is left to time out.
func TestStopAnswersEveryRequest(t *testing.T) {
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
			done <- service.Run(ctx, b, svc, service.WithName("STOPPING"), service.WithLogger(slog.New(slog.DiscardHandler)),
				service.WithOnReady(func(service.Info) { close(ready) }))
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
