package service_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

type emitter struct{}

func (emitter) Initialize(context.Context) error { return nil }
func (emitter) Shutdown(context.Context) error   { return nil }
func (emitter) Fire(ctx context.Context, n int) error {
	for i := range n {
		if err := service.Emit(ctx, "tick", map[string]int{"i": i}); err != nil {
			return err
		}
	}
	return nil
}
func (emitter) Bad(ctx context.Context) error { return service.Emit(ctx, "a.b", 1) }

func TestEmitOrderedAndNumbered(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub, err := b.Conn().SubscribeSync(bus.EventWildcard("EMITTER"))
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, emitter{}, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	defer func() { stop(); <-done }()
	if _, err := b.Conn().Request("svc.EMITTER.fire", []byte("1000"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 1000; i++ {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if m.Subject != "evt.EMITTER.tick" || m.Header.Get(service.EventSeqHeader) != strconv.Itoa(i) {
			t.Fatalf("event %d: subject %s seq %s", i, m.Subject, m.Header.Get(service.EventSeqHeader))
		}
	}
	m, err := b.Conn().Request("svc.EMITTER.bad", nil, 5*time.Second)
	if err != nil || m.Header.Get("Nats-Service-Error-Code") != "500" {
		t.Fatalf("a topic of two tokens: %v %v", err, m.Header)
	}
	if err := service.Emit(context.Background(), "x", 1); !errors.Is(err, service.ErrNoBus) {
		t.Fatalf("Emit outside a service: %v", err)
	}
}
