package canmonitor_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/canmonitor"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

const carDBC = "../../examples/car.dbc"

// setup serves a monitor of bus0 and returns its controller and a node
// that sends frames of the example car.
func setup(t *testing.T) (*canmonitor.Controller, func(msg string, v map[string]float64), *bus.Bus) {
	t.Helper()
	c, send, b, _ := setupService(t)
	return c, send, b
}

// setupService is setup that also returns the service served.
func setupService(t *testing.T) (*canmonitor.Controller, func(msg string, v map[string]float64), *bus.Bus, *canmonitor.CANMonitorService) {
	t.Helper()
	b := bgkittest.Bus(t)
	svc, err := canmonitor.New(canmonitor.Args{DBC: carDBC})
	if err != nil {
		t.Fatal(err)
	}
	bgkittest.Serve(t, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)), service.WithName(canmonitor.DefaultName))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	c, err := canmonitor.Connect(ctx, b, "")
	if err != nil {
		t.Fatal(err)
	}
	node, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	db, err := dbc.Load(carDBC)
	if err != nil {
		t.Fatal(err)
	}
	send := func(msg string, v map[string]float64) {
		t.Helper()
		f, err := db.Encode(msg, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := node.Send(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	return c, send, b, svc
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args canmonitor.Args
		want string
	}{
		{"no dbc", canmonitor.Args{}, "dbc: required"},
		{"missing dbc", canmonitor.Args{DBC: "nope.dbc"}, "nope.dbc"},
		{"bad bus", canmonitor.Args{DBC: carDBC, Bus: "x"}, "bus"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := canmonitor.New(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSignalAndWait(t *testing.T) {
	c, send, _ := setup(t)
	ctx := t.Context()

	s, err := c.Signal(ctx, "VehicleSpeed")
	if err != nil || s.Seen {
		t.Fatalf("before any frame: %+v, %v", s, err)
	}

	// A waiter blocks until a frame satisfies the condition.
	type result struct {
		s   canmonitor.Sample
		err error
	}
	got := make(chan result, 1)
	go func() {
		s, err := c.WaitSignal(ctx, "VehicleSpeed", ">=", 50, 10*time.Second)
		got <- result{s, err}
	}()
	// Wait until the waiter is in (it counts as a call in progress),
	// sending frames below the threshold meanwhile.
	for _, v := range []float64{10, 30, 49.99} {
		send("ABS_Status", map[string]float64{"VehicleSpeed": v})
	}
	select {
	case r := <-got:
		t.Fatalf("wait_signal returned before the value was reached: %+v %v", r.s, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	t0 := time.Now()
	send("ABS_Status", map[string]float64{"VehicleSpeed": 52.5, "BrakePressed": 1})
	r := <-got
	if r.err != nil || r.s.Value != 52.5 || r.s.Message != "ABS_Status" || !r.s.Seen || r.s.Time.Before(t0.Add(-time.Second)) {
		t.Fatalf("wait_signal = %+v, %v", r.s, r.err)
	}

	// The last value counts for a later wait; signal reports it.
	if s, err := c.WaitSignal(ctx, "VehicleSpeed", ">", 50, time.Second); err != nil || s.Value != 52.5 {
		t.Errorf("second wait = %+v, %v", s, err)
	}
	s, err = c.Signal(ctx, "ABS_Status.BrakePressed")
	if err != nil || s.Value != 1 || s.Label != "Pressed" {
		t.Errorf("BrakePressed = %+v, %v", s, err)
	}
	send("Ignition", nil)
	if s, err := c.WaitSignal(ctx, "IgnitionState", "==", 2, 5*time.Second); err != nil || s.Label != "On" {
		t.Errorf("IgnitionState = %+v, %v", s, err)
	}
	var byLabel canmonitor.Sample
	if err := c.Call(ctx, "wait_signal", canmonitor.WaitArgs{Signal: "IgnitionState", Op: "==", Label: "On", TimeoutMS: 5000}, &byLabel); err != nil || byLabel.Value != 2 {
		t.Errorf("IgnitionState == On: %+v, %v", byLabel, err)
	}
	all, err := c.Signals(ctx)
	if err != nil || all["Ignition"]["OutsideTemp"].Value != 20 || len(all) != 2 {
		t.Errorf("signals = %v, %v", all, err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st.Decoded != 5 {
		t.Errorf("stats = %+v, %v", st, err)
	}
}

func TestWaitTimeout(t *testing.T) {
	c, send, _ := setup(t)
	ctx := t.Context()
	send("ABS_Status", map[string]float64{"VehicleSpeed": 12})
	if _, err := c.WaitSignal(ctx, "VehicleSpeed", ">=", 12, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err := c.WaitSignal(ctx, "VehicleSpeed", ">=", 50, 200*time.Millisecond)
	var se *controller.ServiceError
	if !errors.As(err, &se) || se.Code != 500 || !strings.Contains(se.Message, "ABS_Status.VehicleSpeed >= 50 not reached (last 12 at") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", d)
	}
	// fresh: the value already there does not count.
	if err := c.Call(ctx, "wait_signal", canmonitor.WaitArgs{Signal: "VehicleSpeed", Op: "==", Value: 12, Fresh: true, TimeoutMS: 100}, nil); err == nil {
		t.Error("fresh wait took the old value")
	}
}

func TestBadRequests(t *testing.T) {
	c, _, _ := setup(t)
	ctx := t.Context()
	for _, a := range []canmonitor.WaitArgs{
		{Signal: "Nope", Op: ">=", Value: 1},
		{Signal: "ABS_Status.Nope", Op: ">=", Value: 1},
		{Signal: "NoMsg.VehicleSpeed", Op: ">=", Value: 1},
		{Signal: "VehicleSpeed", Op: "~", Value: 1},
		{Signal: "", Op: ">=", Value: 1},
		{Signal: "IgnitionState", Op: "==", Label: "Warp"},
	} {
		err := c.Call(ctx, "wait_signal", a, nil)
		if !errors.Is(err, controller.ErrBadRequest) {
			t.Errorf("wait_signal %+v = %v, want a bad request", a, err)
		}
	}
}
