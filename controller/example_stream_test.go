package controller_test

import (
	"context"
	"fmt"
	"iter"
	"log/slog"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// SensorService emits a "reading" event per sample and streams samples.
type SensorService struct{}

func (SensorService) Initialize(context.Context) error { return nil }
func (SensorService) Shutdown(context.Context) error   { return nil }

// Sample emits one reading event.
func (SensorService) Sample(ctx context.Context, v float64) error {
	return service.Emit(ctx, "reading", v)
}

// Samples streams n readings.
func (SensorService) Samples(ctx context.Context, n int) (iter.Seq2[float64, error], error) {
	return func(yield func(float64, error) bool) {
		for i := range n {
			if !yield(float64(i)/2, nil) {
				return
			}
		}
	}, nil
}

func Example_eventsAndStreams() {
	ctx, stop := context.WithCancel(context.Background())
	b, _ := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	defer b.Close()
	ready, done := make(chan struct{}), make(chan error)
	go func() {
		done <- service.Run(ctx, b, SensorService{}, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	c, _ := controller.Connect(ctx, b, "SENSOR_SERVICE")
	defer c.Close()

	// Events: a callback per event, in order.
	got := make(chan float64)
	sub, _ := c.Subscribe(ctx, "reading", func(e controller.Event) {
		var v float64
		_ = e.Decode(&v)
		got <- v
	})
	_ = c.Call(ctx, "sample", 21.5, nil)
	fmt.Println("event:", <-got)
	sub.Stop()

	// Streams: an iterator, flow-controlled.
	for v, err := range controller.StreamOf[float64](ctx, c, "samples", 3) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println("item:", v)
	}

	stop()
	<-done
	// Output:
	// event: 21.5
	// item: 0
	// item: 0.5
	// item: 1
}
