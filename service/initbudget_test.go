package service_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/service"
)

// blockingOpener's Initialize does one blocking step that does not look
// at ctx (a dial, a file open) and returns nil; its Shutdown honours its
// ctx, waiting for it at most.
type blockingOpener struct {
	open    time.Duration
	started chan struct{}
}

func (o *blockingOpener) Initialize(ctx context.Context) error {
	close(o.started)
	time.Sleep(o.open)
	return nil
}
func (*blockingOpener) Shutdown(ctx context.Context) error {
	<-ctx.Done() // flushing until the budget says stop
	return nil
}
func (*blockingOpener) Nop(context.Context) error { return nil }

// TestInterruptedInitializeBudget: Run "shuts it down within one
// budget (WithShutdownTimeout, counted from the end of ctx)". When ctx ends
// while Initialize runs, the budget must still count from the end of ctx,
// not from Initialize's return: a spawned child's grace (the parent kills
// it at its end) counts from the stop request.
func TestInterruptedInitializeBudget(t *testing.T) {
	b := bgkittest.Bus(t)
	o := &blockingOpener{open: 400 * time.Millisecond, started: make(chan struct{})}
	budget := 600 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, o, service.WithName("BUDGET_OPENER"),
			service.WithLogger(slog.New(slog.DiscardHandler)), service.WithShutdownTimeout(budget))
	}()
	<-o.started
	t0 := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Logf("Run: %v", err)
	}
	took := time.Since(t0)
	if took > budget+150*time.Millisecond {
		t.Errorf("Run returned %v after its ctx ended, budget %v (counted from Initialize's return instead)", took.Round(time.Millisecond), budget)
	}
}
