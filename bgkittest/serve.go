package bgkittest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// Serve serves svc on b in this process — no child process, so a unit
// test of a service's methods is fast — and returns once it answers calls.
// It fails the test if the service cannot start, and stops it (Shutdown,
// then Run returns) when the test ends, failing the test if Shutdown fails.
//
//	b := bgkittest.Bus(t)
//	bgkittest.Serve(t, b, svc)
//	c, _ := controller.Connect(t.Context(), b, "COUNTER_SERVICE")
//
// The server's own records (a method that panicked, a reply that could not
// be sent) go to the test's output, one line each, prefixed "serve"; a
// service.WithLogger among opts replaces that. What the service's own code
// logs with slog.Default() goes where this process's default logger
// writes: Serve does not replace the process-wide default, which tests
// running in parallel share.
func Serve(t testing.TB, b *bus.Bus, svc service.Service, opts ...service.Option) service.Info {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan service.Info, 1)
	done := make(chan error, 1)
	logger := slog.New(&recordHandler{s: &sinks{level: slog.LevelDebug, prefix: "serve", out: newTestOutput(t, false)}})
	opts = append([]service.Option{service.WithLogger(logger)}, opts...)
	opts = append(opts, service.WithOnReady(func(info service.Info) { ready <- info }))
	go func() { done <- service.Run(ctx, b, svc, opts...) }()
	select {
	case info := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("bgkittest.Serve: %v", err)
			}
		})
		return info
	case err := <-done:
		cancel()
		t.Fatalf("bgkittest.Serve: %v", err)
		return service.Info{}
	}
}
