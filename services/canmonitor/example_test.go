package canmonitor_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/canmonitor"
)

// A monitor of bus0 with the example car's DBC waits for VehicleSpeed to
// reach 50 km/h.
func Example() {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	svc, err := canmonitor.New(canmonitor.Args{Bus: "virtual:bus0", DBC: "../../examples/car.dbc"})
	if err != nil {
		panic(err)
	}
	sctx, stop := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(sctx, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	defer func() { stop(); <-done }()
	select {
	case <-ready:
	case err := <-done:
		panic(err)
	}
	c, err := canmonitor.Connect(ctx, b, "")
	if err != nil {
		panic(err)
	}

	node, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		panic(err)
	}
	defer node.Close()
	f, _ := can.ParseFrame("1A0#00008813") // ABS_Status, VehicleSpeed 0x1388 = 50.00 km/h
	if err := node.Send(ctx, f); err != nil {
		panic(err)
	}
	s, err := c.WaitSignal(ctx, "VehicleSpeed", ">=", 50, 2*time.Second)
	fmt.Println(s.Message, s.Signal, s.Value, s.Unit, err)

	// Watch: the value known, then each change.
	wctx, stopWatch := context.WithTimeout(ctx, 10*time.Second)
	defer stopWatch()
	for ch, err := range c.Watch(wctx, canmonitor.WatchFilter{Signals: []string{"VehicleSpeed"}}) {
		if err != nil {
			panic(err)
		}
		if ch.Initial {
			fmt.Println("now", ch.Value)
			f, _ := can.ParseFrame("1A0#00007017") // 60.00 km/h
			if err := node.Send(ctx, f); err != nil {
				panic(err)
			}
			continue
		}
		fmt.Println("from", *ch.Previous, "to", ch.Value)
		break
	}
	// Output:
	// ABS_Status VehicleSpeed 50 km/h <nil>
	// now 50
	// from 50 to 60
}
