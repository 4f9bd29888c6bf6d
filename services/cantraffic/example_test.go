package cantraffic_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/cantraffic"
)

// serve serves svc on b until the returned stop is called.
func serve(b *bus.Bus, svc service.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, svc, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	select {
	case <-ready:
	case err := <-done:
		panic(err)
	}
	return func() { cancel(); <-done }
}

// A generator of three frames with incrementing identifiers and data, one
// every millisecond, as `cangen vcan0 -g 1 -n 3 -I i -L 2 -D i`.
func Example() {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	watch, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		panic(err)
	}
	defer watch.Close()

	svc, err := cantraffic.New(cantraffic.Args{
		Bus:       "virtual:bus0",
		Generator: &cantraffic.GeneratorArgs{GapMS: new(1.0), Count: 3, IDMode: "i", LenMode: "2", DataMode: "i"},
	})
	if err != nil {
		panic(err)
	}
	stop := serve(b, svc)
	defer stop()

	c, err := cantraffic.Connect(ctx, b, "")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		panic(err)
	}
	for range 3 {
		r, err := watch.Recv(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Frame)
	}
	// Output:
	// 000#0000
	// 001#0100
	// 002#0200
}

// A cyclic set whose payload changes while it runs.
func Example_cyclic() {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	watch, err := can.NewVirtual(b.Conn(), "bus0", can.WithFilters(can.Filter{ID: 0x321, Mask: can.MaxID}))
	if err != nil {
		panic(err)
	}
	defer watch.Close()

	svc, err := cantraffic.New(cantraffic.Args{
		Cyclic: []cantraffic.CyclicMessage{
			{ID: 0x321, Data: "00FF", PeriodMS: 10},
			{ID: 0x18FEF100, Data: "1122334455667788", PeriodMS: 100, Extended: true},
		},
		Autostart: true,
	})
	if err != nil {
		panic(err)
	}
	stop := serve(b, svc)
	defer stop()
	c, err := cantraffic.Connect(ctx, b, "")
	if err != nil {
		panic(err)
	}
	defer c.Close()

	r, _ := watch.Recv(ctx)
	fmt.Println(r.Frame)
	if err := c.SetPayload(ctx, cantraffic.SetPayloadArgs{ID: 0x321, Data: "01FF"}); err != nil {
		panic(err)
	}
	for r.String() != "321#01FF" {
		r, _ = watch.Recv(ctx)
	}
	fmt.Println(r.Frame)
	// Output:
	// 321#00FF
	// 321#01FF
}

// The rest-bus of the example car's BCM: its Ignition message every
// 100 ms, with the start values of the DBC, then with the ignition off.
func Example_restbus() {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	watch, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		panic(err)
	}
	defer watch.Close()

	svc, err := cantraffic.New(cantraffic.Args{
		Restbus:   &cantraffic.RestbusArgs{DBC: "../../examples/car.dbc", Nodes: []string{"BCM"}},
		Autostart: true,
	})
	if err != nil {
		panic(err)
	}
	stop := serve(b, svc)
	defer stop()
	c, err := cantraffic.Connect(ctx, b, "")
	if err != nil {
		panic(err)
	}
	defer c.Close()

	r, _ := watch.Recv(ctx)
	fmt.Println(r.Frame)
	if err := c.SetSignal(ctx, cantraffic.SetSignalArgs{Message: "Ignition", Signal: "IgnitionState", Value: 0}); err != nil {
		panic(err)
	}
	for r.String() == "3C0#500A0000" {
		r, _ = watch.Recv(ctx)
	}
	fmt.Println(r.Frame)
	// Output:
	// 3C0#500A0000
	// 3C0#100A0000
}
