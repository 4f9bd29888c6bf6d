package service_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type GreeterService struct{}

func (GreeterService) Initialize(context.Context) error { return nil }
func (GreeterService) Shutdown(context.Context) error   { return nil }

// Greet is served as svc.GREETER_SERVICE.greet.
func (GreeterService) Greet(ctx context.Context, name string) (string, error) {
	return "hello " + name, nil
}

func ExampleDeriveName() {
	fmt.Println(service.DeriveName("TesterPresentService"))
	fmt.Println(service.DeriveName("HTTPServerService"))
	fmt.Println(service.MethodName("SetInterval"))
	// Output:
	// TESTER_PRESENT_SERVICE
	// HTTP_SERVER_SERVICE
	// set_interval
}

// Serve a service in this process (spawn.Run serves it in a child).
func ExampleRun() {
	ctx, stop := context.WithCancel(context.Background())
	b, _ := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	defer b.Close()

	ready := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- service.Run(ctx, b, GreeterService{}, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready

	c, _ := controller.Connect(ctx, b, "GREETER_SERVICE")
	var out string
	_ = c.Call(ctx, "greet", "rig", &out)
	fmt.Println(out)

	stop()
	fmt.Println(<-done)
	// Output:
	// hello rig
	// <nil>
}
