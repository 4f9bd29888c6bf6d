package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// TestCounter is the Counter example of DESIGN.md, through real processes.
func TestCounter(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Start: 1, Step: 2})
	if h.ServiceName() != "COUNTER_SERVICE" || h.PID() <= 0 {
		t.Fatalf("name %q pid %d", h.ServiceName(), h.PID())
	}
	c, err := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := CounterController{c}
	if v, err := cc.Add(ctx, 5); err != nil || v != 11 {
		t.Fatalf("add 5 = %d, %v; want 11", v, err)
	}
	if v, err := cc.Value(ctx); err != nil || v != 11 {
		t.Fatalf("value = %d, %v; want 11", v, err)
	}
	if err := cc.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := c.Call(ctx, "value", nil, &v); err != nil || v != 1 {
		t.Fatalf("value after reset = %d, %v; want 1", v, err)
	}
	if err := h.Terminate(ctx); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Done not closed after Terminate")
	}
	if h.Err() != nil {
		t.Fatalf("Err after clean exit = %v", h.Err())
	}
	if _, err := controller.Connect(ctx, b, "COUNTER_SERVICE"); !errors.Is(err, controller.ErrNoService) {
		t.Fatalf("connect after terminate: %v, want ErrNoService", err)
	}
}

func TestArgsValidatedBeforeSpawn(t *testing.T) {
	b := bgkittest.Bus(t)
	_, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Start: -1, Step: 0})
	var ve *service.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *service.ValidationError", err)
	}
	got := map[string]string{}
	for _, f := range ve.Fields {
		got[f.Field] = f.Rule
	}
	if got["start"] != "gte" || got["step"] != "required" || len(got) != 2 {
		t.Fatalf("fields = %v, want start:gte and step:required", got)
	}
	for _, want := range []string{"start: must be at least 0, got -1", "step: is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1}, spawn.WithName("COUNTER_A"))
	bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 10}, spawn.WithName("COUNTER_B"))
	for name, want := range map[string]int{"COUNTER_A": 3, "COUNTER_B": 30} {
		c, err := controller.Connect(ctx, b, name)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := c.Call(ctx, "add", 3, &v); err != nil || v != want {
			t.Errorf("%s add 3 = %d, %v; want %d", name, v, err, want)
		}
	}
	_, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, spawn.WithName("COUNTER_A"), quiet)
	if !errors.Is(err, spawn.ErrDuplicateName) {
		t.Fatalf("duplicate spawn: %v, want ErrDuplicateName", err)
	}
	_, err = spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, spawn.WithName("BAD NAME"), quiet)
	if err == nil {
		t.Fatal("a name with a space was accepted")
	}
	// The first instance is unharmed by the refused duplicate.
	c, _ := controller.Connect(ctx, b, "COUNTER_A")
	var v int
	if err := c.Call(ctx, "value", nil, &v); err != nil || v != 3 {
		t.Fatalf("COUNTER_A value = %d, %v; want 3", v, err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	const callers, calls = 32, 50
	errs := make(chan error, callers)
	for range callers {
		go func() {
			for range calls {
				if err := c.Call(ctx, "add", 1, nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var v int
	if err := c.Call(ctx, "value", nil, &v); err != nil || v != callers*calls {
		t.Fatalf("value = %d, %v; want %d", v, err, callers*calls)
	}
	// A slow call does not block others: calls run concurrently.
	slow := make(chan error, 1)
	go func() { slow <- c.Call(ctx, "sleep", 2000, nil) }()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := c.Call(cctx, "sleep", 1, nil); err != nil {
		t.Fatalf("a short call behind a long one: %v", err)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}
