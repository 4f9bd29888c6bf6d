package service_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/wiretap"
	"github.com/bgkit/bgkit/service"
)

// WithOnSubscribed's f runs after every subscription of the service is
// written on its connection and before WithOnReady's: what it publishes
// follows them on the wire, which is what lets a receiver call at once.
func TestOnSubscribedFollowsTheSubscriptions(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := &wiretap.Dialer{}
	sb, err := bus.Dial(context.Background(), b.Credentials(), bus.WithDialer(d), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var order []string
	ready := make(chan struct{})
	done := make(chan error, 1)
	svc := &echoService{shutdown: make(chan struct{}), release: make(chan struct{})}
	close(svc.release)
	go func() {
		done <- service.Run(ctx, sb, svc, service.WithName("ORDER"), service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnSubscribed(func(info service.Info) {
				order = append(order, "subscribed "+info.Name)
				_ = sb.Conn().Publish("order.ready", []byte(info.ID))
			}),
			service.WithOnReady(func(service.Info) {
				order = append(order, "ready")
				close(ready)
			}))
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ", ") != "subscribed ORDER, ready" {
		t.Errorf("callbacks: %q, want subscribed ORDER, then ready", order)
	}
	var subs []string
	pub := -1
	for i, l := range d.Lines() {
		switch {
		case strings.HasPrefix(l, "SUB "):
			subs = append(subs, l)
			if pub >= 0 {
				t.Errorf("%q written after the message published in WithOnSubscribed", l)
			}
		case strings.HasPrefix(l, "PUB order.ready "):
			pub = i
		}
	}
	if pub < 0 {
		t.Fatalf("the message published in WithOnSubscribed was not written; wrote %q", d.Lines())
	}
	// The method wildcard and $SRV's PING, INFO and STATS (all, by name, by id).
	if !strings.Contains(strings.Join(subs, "\n"), "svc.ORDER.") || len(subs) < 10 {
		t.Errorf("subscriptions before the message: %q", subs)
	}
}
