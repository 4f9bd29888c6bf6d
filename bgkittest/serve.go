package bgkittest

import (
	"context"
	"testing"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// Serve serves svc on b in this process — no child process, so a unit
// test of a service's methods is fast and its logs are the test's own — and
// returns once it answers calls. It fails the test if the service cannot
// start, and stops it (Shutdown, then Run returns) when the test ends,
// failing the test if Shutdown fails.
//
//	b := bgkittest.Bus(t)
//	bgkittest.Serve(t, b, svc)
//	c, _ := controller.Connect(t.Context(), b, "COUNTER_SERVICE")
func Serve(t testing.TB, b *bus.Bus, svc service.Service, opts ...service.Option) service.Info {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan service.Info, 1)
	done := make(chan error, 1)
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
