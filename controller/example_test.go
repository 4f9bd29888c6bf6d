package controller_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type LampService struct{ on bool }

func (*LampService) Initialize(context.Context) error { return nil }
func (*LampService) Shutdown(context.Context) error   { return nil }
func (l *LampService) Switch(ctx context.Context, on bool) error {
	l.on = on
	return nil
}
func (l *LampService) IsOn(ctx context.Context) (bool, error) { return l.on, nil }

// LampController is a typed controller.
type LampController struct{ *controller.Controller }

func (c LampController) Switch(ctx context.Context, on bool) error {
	return c.Call(ctx, "switch", on, nil)
}

func (c LampController) IsOn(ctx context.Context) (bool, error) {
	var on bool
	return on, c.Call(ctx, "is_on", nil, &on)
}

func Example() {
	ctx, stop := context.WithCancel(context.Background())
	b, _ := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	defer b.Close()
	ready := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- service.Run(ctx, b, &LampService{}, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready

	c, err := controller.Connect(ctx, b, "LAMP_SERVICE")
	if err != nil {
		panic(err)
	}
	lamp := LampController{c}
	_ = lamp.Switch(ctx, true)
	on, _ := lamp.IsOn(ctx)
	fmt.Println("on:", on)

	// Errors are typed.
	err = c.Call(ctx, "switch", "yes", nil)
	var se *controller.ServiceError
	fmt.Println(errors.As(err, &se), se.Code, errors.Is(err, controller.ErrBadRequest))
	err = c.Call(ctx, "dim", nil, nil)
	fmt.Println(errors.Is(err, controller.ErrUnknownMethod))
	_, err = controller.Connect(ctx, b, "NOBODY")
	fmt.Println(errors.Is(err, controller.ErrNoService))

	stop()
	<-done
	// Output:
	// on: true
	// true 400 true
	// true
	// true
}
