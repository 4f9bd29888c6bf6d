package bgkittest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/services/canmonitor"
)

func TestWaitSignalFunc(t *testing.T) {
	b, node := serveMonitor(t)
	f, _ := can.ParseFrame("1A0#00008813") // VehicleSpeed 50.00
	if err := node.Send(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	around50 := func(c canmonitor.SignalChange) bool { return c.Value >= 49 && c.Value <= 51 }
	c := bgkittest.WaitSignalFunc(t, b, "VehicleSpeed", around50, 5*time.Second, bgkittest.OnMonitor("MON"))
	if c.Value != 50 || c.Message != "ABS_Status" {
		t.Errorf("change %+v", c)
	}

	// Not reached: the test fails, naming the signal and the last value.
	r := newRecordingTB(t)
	if r.run(func(tb testing.TB) {
		bgkittest.WaitSignalFunc(tb, b, "VehicleSpeed", func(c canmonitor.SignalChange) bool { return c.Value > 60 }, 200*time.Millisecond, bgkittest.OnMonitor("MON"))
	}) {
		t.Fatal("WaitSignalFunc returned for a value not reached")
	}
	if got := r.failures(); !strings.Contains(got, "VehicleSpeed: no value matched within 200ms") || !strings.Contains(got, "last 50") {
		t.Errorf("failure %q", got)
	}
}
