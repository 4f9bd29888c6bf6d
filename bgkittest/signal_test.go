package bgkittest_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/canmonitor"
)

func TestWaitSignal(t *testing.T) {
	b, node := serveMonitor(t)

	if s := bgkittest.Signal(t, b, "VehicleSpeed", bgkittest.OnMonitor("MON")); s.Seen {
		t.Errorf("seen before any frame: %+v", s)
	}
	f, _ := can.ParseFrame("1A0#00008813") // VehicleSpeed 50.00
	if err := node.Send(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	s := bgkittest.WaitSignal(t, b, "VehicleSpeed", ">=", 50, 2*time.Second, bgkittest.OnMonitor("MON"))
	if s.Value != 50 {
		t.Errorf("sample %+v", s)
	}

	// Not reached: the test fails, naming the condition and the last value.
	r := newRecordingTB(t)
	if r.run(func(tb testing.TB) {
		bgkittest.WaitSignal(tb, b, "VehicleSpeed", ">=", 60, 100*time.Millisecond, bgkittest.OnMonitor("MON"))
	}) {
		t.Fatal("WaitSignal returned for a value not reached")
	}
	if got := r.failures(); !strings.Contains(got, "VehicleSpeed >= 60") || !strings.Contains(got, "last 50") {
		t.Errorf("failure %q", got)
	}
}

// serveMonitor serves a can-monitor called MON for examples/car.dbc on a
// fresh bus and opens a node on its virtual bus bus0.
func serveMonitor(t *testing.T) (*bus.Bus, *can.Virtual) {
	t.Helper()
	b := bgkittest.Bus(t)
	svc, err := canmonitor.New(canmonitor.Args{DBC: "../examples/car.dbc"})
	if err != nil {
		t.Fatal(err)
	}
	bgkittest.Serve(t, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)), service.WithName("MON"))
	node, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return b, node
}
