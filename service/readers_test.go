package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// gateService's Block waits for its gate (or its ctx); Fast returns at once.
type gateService struct {
	gate    chan struct{}
	entered chan struct{} // one send per call entering Block, if not nil
	in, max atomic.Int64
}

func (*gateService) Initialize(context.Context) error { return nil }
func (*gateService) Shutdown(context.Context) error   { return nil }
func (s *gateService) Block(ctx context.Context) error {
	n := s.in.Add(1)
	defer s.in.Add(-1)
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	for {
		m := s.max.Load()
		if n <= m || s.max.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-s.gate:
	case <-ctx.Done():
	}
	return nil
}
func (*gateService) Fast(context.Context, int) (int, error) { return 1, nil }

// TestSlowCallsDoNotHoldOthers: calls are handled by the goroutine that
// read them, but while some are stuck in a method, the calls queued
// behind them are answered.
func TestSlowCallsDoNotHoldOthers(t *testing.T) {
	svc := &gateService{gate: make(chan struct{})}
	b, _ := serve(t, svc, service.WithName("GATE"))
	c, err := controller.Connect(context.Background(), b, "GATE")
	if err != nil {
		t.Fatal(err)
	}
	var blocked sync.WaitGroup
	for range 3 {
		blocked.Add(1)
		go func() { defer blocked.Done(); _ = c.Call(context.Background(), "block", nil, nil) }()
	}
	defer func() { close(svc.gate); blocked.Wait() }()
	var fast sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		fast.Add(1)
		go func() {
			defer fast.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			errs <- c.Call(ctx, "fast", 1, nil)
		}()
	}
	fast.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a fast call behind blocked ones: %v", err)
		}
	}
	if n := svc.in.Load(); n != 3 {
		t.Fatalf("%d calls in Block, want 3", n)
	}
}

// TestConcurrencyBound: WithConcurrency(2) runs two calls at once; the
// third waits for one of them, then runs.
func TestConcurrencyBound(t *testing.T) {
	svc := &gateService{gate: make(chan struct{}), entered: make(chan struct{}, 3)}
	b, _ := serve(t, svc, service.WithName("GATE"), service.WithConcurrency(2))
	c, err := controller.Connect(context.Background(), b, "GATE")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 3)
	for range 3 {
		go func() { done <- c.Call(context.Background(), "block", nil, nil) }()
	}
	// The two readers are in Block; the third call waits for one.
	for range 2 {
		select {
		case <-svc.entered:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d calls in Block after 5 s, want 2", svc.in.Load())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, "fast", 1, nil); err == nil {
		t.Fatal("a fourth call was answered while two ran with WithConcurrency(2)")
	}
	close(svc.gate)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if m := svc.max.Load(); m != 2 {
		t.Fatalf("at most %d calls ran at once, want 2", m)
	}
}

// A flood of large requests at a service whose readers are all busy holds
// at most callQueueBytes of them (the rest are dropped, as a slow
// consumer's): the memory a caller can pin in the service is bounded in
// bytes, not only in count.
func TestCallQueueBoundedInBytes(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sb, err := bus.Dial(context.Background(), b.Credentials(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	svc := &gateService{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, sb, svc, service.WithName("HOARD"), service.WithConcurrency(1),
			service.WithLogger(slog.New(slog.DiscardHandler)), service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	defer func() { cancel(); <-done }()
	nc := b.Conn()
	if err := nc.PublishRequest("svc.HOARD.block", nc.NewInbox(), nil); err != nil {
		t.Fatal(err)
	}
	<-svc.entered // the one reader is in Block until the gate opens

	replies := nc.NewInbox()
	answered, err := nc.SubscribeSync(replies + ".*")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n, size = 160, 1_000_000 // within the server's 1 MB max_payload
	body := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	for i := range n {
		if err := nc.PublishRequest("svc.HOARD.block", fmt.Sprintf("%s.%d", replies, i), body); err != nil {
			t.Fatal(err)
		}
	}
	// The service's connection has read all of them once a round trip on
	// it that follows them returns.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := sb.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d requests of %d bytes: the process's heap grew by %d MB (the embedded server's buffers included)",
		n, size, (int64(after.HeapInuse)-int64(before.HeapInuse))>>20)
	// Calls are handled in order: once a call made after them is answered,
	// every one the service kept has been.
	close(svc.gate)
	c, err := controller.Connect(context.Background(), b, "HOARD")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var one int
	if err := c.Call(context.Background(), "fast", 0, &one); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _, _ := answered.Pending()
	if max := 64<<20/size + 1; got > max || got == 0 {
		t.Errorf("%d of %d requests of %d bytes kept for a busy service and answered, want 1 to %d (64 MiB)", got, n, size, max)
	}
}
