package integration

import (
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

func TestCounterQuick(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Now()
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("spawned in", time.Since(t0))
	c, err := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	cc := CounterController{c}
	v, err := cc.Add(ctx, 5)
	if err != nil || v != 10 {
		t.Fatal(v, err)
	}
	t0 = time.Now()
	if err := h.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Log("terminated in", time.Since(t0))
}
