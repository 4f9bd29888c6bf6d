package service_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/service"
)

// opener's Initialize waits for open (or its ctx); its Shutdown reports
// whether Initialize's ctx was still live then.
type opener struct {
	open, started  chan struct{}
	initCtx        context.Context
	liveAtShutdown bool
}

func (o *opener) Initialize(ctx context.Context) error {
	o.initCtx = ctx
	close(o.started)
	select {
	case <-o.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (o *opener) Shutdown(context.Context) error {
	o.liveAtShutdown = o.initCtx.Err() == nil
	return nil
}
func (*opener) Nop(context.Context) error { return nil }

// TestInitializeInterrupted: Run's ctx ending while Initialize runs ends
// Initialize's ctx (it used to stay live until Initialize returned on its
// own: a stop in the middle of opening a session waited for it, and a
// child was killed at the end of its grace).
func TestInitializeInterrupted(t *testing.T) {
	b := bgkittest.Bus(t)
	o := &opener{open: make(chan struct{}), started: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, o, service.WithName("OPENER"), service.WithLogger(slog.New(slog.DiscardHandler)))
	}()
	<-o.started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want Initialize's context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		close(o.open)
		<-done
		t.Fatal("Initialize's ctx did not end when Run's did")
	}
}

// Once Initialize has returned, its ctx lives on through Shutdown (what
// it started keeps running until the service is shut down), as before.
func TestInitializeCtxLivesThroughShutdown(t *testing.T) {
	b := bgkittest.Bus(t)
	o := &opener{open: make(chan struct{}), started: make(chan struct{})}
	close(o.open)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- service.Run(ctx, b, o, service.WithName("OPENER"), service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !o.liveAtShutdown {
		t.Error("Initialize's ctx had ended when Shutdown ran")
	}
	if o.initCtx.Err() == nil {
		t.Error("Initialize's ctx still live after Run returned")
	}
}
