package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// Shutdown in order, within one budget (issue 9, finding 5): SIGTERM ends
// the ctx of calls in flight, so a service whose methods honour ctx is
// never killed, and the records its Shutdown writes always arrive.
func TestShutdownCancelsCallsInFlight(t *testing.T) {
	const (
		runs  = 20
		grace = 2 * time.Second
		bye   = 20
	)
	ctx := context.Background()
	b := bgkittest.Bus(t)
	for i := range runs {
		t.Run(fmt.Sprint("run ", i), func(t *testing.T) {
			rec := newRecorder()
			h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1, ShutdownLogs: bye},
				spawn.WithName("SHUTDOWN_ORDER"), spawn.WithGrace(grace), spawn.WithLogger(slog.New(rec)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Terminate(ctx) })
			c, err := controller.Connect(ctx, b, h.ServiceName())
			if err != nil {
				t.Fatal(err)
			}
			// A call of a minute, sent before value on the same connection:
			// calls from one connection reach the service in order, so once
			// value answers, sleep is in flight.
			nc := b.Conn()
			inbox := nc.NewRespInbox()
			answer, err := nc.SubscribeSync(inbox)
			if err != nil {
				t.Fatal(err)
			}
			defer answer.Unsubscribe()
			if err := nc.PublishRequest("svc.SHUTDOWN_ORDER.sleep", inbox, []byte("60000")); err != nil {
				t.Fatal(err)
			}
			if err := c.Call(ctx, "value", nil, nil); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = h.Terminate(ctx)
			took := time.Since(start)
			var ee *spawn.ExitError
			if errors.As(err, &ee) && ee.Killed {
				t.Fatalf("killed after %v though its method returns when its ctx ends: %v", took, err)
			}
			if err != nil {
				t.Fatalf("Terminate = %v, want nil", err)
			}
			next := 0
			for _, r := range rec.all() {
				if r.Message == "bye" && int(attrs(r)["i"].Int64()) == next {
					next++
				}
			}
			if next != bye || countRecords(rec, msgIs("shutdown started")) != 1 {
				t.Errorf("%d of %d Shutdown records (and %d 'shutdown started') when Terminate returned after %v",
					next, bye, countRecords(rec, msgIs("shutdown started")), took)
			}
			m, err := answer.NextMsg(time.Second)
			if err != nil {
				t.Fatalf("the call in flight had no answer 1 s after Terminate returned: %v", err)
			}
			if m.Header.Get("Nats-Service-Error-Code") == "" {
				t.Errorf("the call in flight succeeded: %q", m.Data)
			}
		})
	}
}
