package canmonitor_test

import (
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/services/canmonitor"
)

// watchDesc is a change in short: "Message.Signal prev→value" ("-" for no
// previous value, "*" after an initial one).
func watchDesc(c canmonitor.SignalChange) string {
	prev := "-"
	if c.Previous != nil {
		prev = fmt.Sprint(*c.Previous)
	}
	s := fmt.Sprintf("%s.%s %s→%v", c.Message, c.Signal, prev, c.Value)
	if c.Initial {
		s += "*"
	}
	return s
}

// watchNext takes the next n changes of a pulled watch.
func watchNext(t *testing.T, next func() (canmonitor.SignalChange, error, bool), n int) []string {
	t.Helper()
	var got []string
	for range n {
		c, err, ok := next()
		if err != nil || !ok {
			t.Fatalf("after %v: watch ended: %v", got, err)
		}
		if c.Time.IsZero() {
			t.Errorf("%s: no time", watchDesc(c))
		}
		got = append(got, watchDesc(c))
	}
	return got
}

func watchExpect(t *testing.T, next func() (canmonitor.SignalChange, error, bool), want ...string) {
	t.Helper()
	got := watchNext(t, next, len(want))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes\n got %v\nwant %v", got, want)
	}
}

func TestWatch(t *testing.T) {
	c, send, _, svc := setupService(t)
	ctx := t.Context()
	send("ABS_Status", map[string]float64{"VehicleSpeed": 10})
	send("Ignition", map[string]float64{"IgnitionState": 2})
	if _, err := c.WaitSignal(ctx, "IgnitionState", "==", 2, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	// Signals: the known values first, then changes only; a signal seen
	// for the first time has no previous value.
	next, stop := iter.Pull2(c.Watch(ctx, canmonitor.WatchFilter{Signals: []string{"VehicleSpeed", "ABS_Status.BrakePressed", "Odometer"}}))
	defer stop()
	watchExpect(t, next, "ABS_Status.BrakePressed -→0*", "ABS_Status.VehicleSpeed -→10*")
	// A message alone: all its signals; every: unchanged values too.
	nextIgn, stopIgn := iter.Pull2(c.Watch(ctx, canmonitor.WatchFilter{Message: "Ignition", Every: true}))
	defer stopIgn()
	watchExpect(t, nextIgn, "Ignition.IgnitionState -→2*", "Ignition.KeyIn -→1*", "Ignition.OutsideTemp -→20*")

	send("ABS_Status", map[string]float64{"VehicleSpeed": 10}) // no change
	send("Ignition", map[string]float64{"IgnitionState": 3})
	send("ABS_Status", map[string]float64{"VehicleSpeed": 20})
	send("GW_Status", map[string]float64{"Odometer": 5})
	send("ABS_Status", map[string]float64{"VehicleSpeed": 20, "BrakePressed": 1})
	send("Ignition", map[string]float64{"IgnitionState": 3})
	watchExpect(t, next, "ABS_Status.VehicleSpeed 10→20", "GW_Status.Odometer -→5", "ABS_Status.BrakePressed 0→1")
	watchExpect(t, nextIgn,
		"Ignition.IgnitionState 2→3", "Ignition.KeyIn 1→1", "Ignition.OutsideTemp 20→20",
		"Ignition.IgnitionState 3→3", "Ignition.KeyIn 1→1", "Ignition.OutsideTemp 20→20")

	// Stopping a watch ends it in the service.
	stop()
	stopIgn()
	deadline := time.Now().Add(5 * time.Second) // margin for a loaded machine
	for svc.Watches() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d watches still open after the callers stopped", svc.Watches())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchBadFilter(t *testing.T) {
	c, _, _ := setup(t)
	for _, f := range []canmonitor.WatchFilter{
		{Signals: []string{"Nope"}},
		{Signals: []string{"NoMsg.VehicleSpeed"}},
		{Message: "NoMsg"},
		{Message: "Ignition", Signals: []string{"VehicleSpeed"}},
	} {
		for _, err := range c.Watch(t.Context(), f) {
			if !errors.Is(err, controller.ErrBadRequest) {
				t.Errorf("watch %+v = %v, want a bad request", f, err)
			}
			break
		}
	}
}
