package bgkittest

import (
	"log/slog"
	"testing"

	"github.com/bgkit/bgkit/bus"
)

// Bus starts an embedded bus (127.0.0.1, random port, fresh credentials)
// and closes it when the test and its cleanups registered later have
// finished, so children spawned on it are terminated first. The bus's own
// warnings and errors go to the test's output, prefixed "bus"; a
// bus.WithLogger among opts replaces that. A bus that cannot start fails
// the test.
//
// Before it closes the bus, the cleanup fails the test for each child
// process of this test binary that still serves on the bus: a
// spawn.Handle the test never terminated (closing the bus would make such
// a child exit by itself, hiding the leak from [Main]).
func Bus(t testing.TB, opts ...bus.Option) *bus.Bus {
	t.Helper()
	out := newTestOutput(t, false)
	logger := slog.New(&recordHandler{s: &sinks{level: slog.LevelWarn, prefix: "bus", out: out}})
	b, err := bus.Start(t.Context(), append([]bus.Option{bus.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatalf("bgkittest.Bus: %v", err)
	}
	t.Cleanup(func() {
		t.Helper() // a report points at the Bus call
		reportUnterminated(t, b)
		if err := b.Close(); err != nil {
			t.Errorf("bgkittest: %v", err)
		}
	})
	return b
}
