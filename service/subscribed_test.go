package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// recordingDialer keeps what nats.go writes on the connections it dials.
type recordingDialer struct {
	mu    sync.Mutex
	wrote bytes.Buffer
}

func (d *recordingDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, d: d}, nil
}

func (d *recordingDialer) lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Split(d.wrote.String(), "\r\n")
}

type recordingConn struct {
	net.Conn
	d *recordingDialer
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.d.mu.Lock()
	c.d.wrote.Write(b)
	c.d.mu.Unlock()
	return c.Conn.Write(b)
}

// WithOnSubscribed's f runs after every subscription of the service is
// written on its connection and before WithOnReady's: what it publishes
// follows them on the wire, which is what lets a receiver call at once.
func TestOnSubscribedFollowsTheSubscriptions(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := &recordingDialer{}
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
	for i, l := range d.lines() {
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
		t.Fatalf("the message published in WithOnSubscribed was not written; wrote %q", d.lines())
	}
	// The method wildcard and $SRV's PING, INFO and STATS (all, by name, by id).
	if !strings.Contains(strings.Join(subs, "\n"), "svc.ORDER.") || len(subs) < 10 {
		t.Errorf("subscriptions before the message: %q", subs)
	}
}
