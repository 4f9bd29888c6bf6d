package bgkittest_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
)

// GreeterArgs and GreeterService are the service under test; usually they
// live in a package of their own.
type GreeterArgs struct {
	Greeting string `json:"greeting" validate:"required"`
}

type GreeterService struct{ args GreeterArgs }

func NewGreeterService(args GreeterArgs) (*GreeterService, error) {
	return &GreeterService{args: args}, nil
}

func (s *GreeterService) Initialize(context.Context) error { return nil }
func (s *GreeterService) Shutdown(context.Context) error   { return nil }

// Greet is the endpoint svc.GREETER_SERVICE.greet.
func (s *GreeterService) Greet(ctx context.Context, name string) (string, error) {
	slog.Info("greeting", "name", name)
	return s.args.Greeting + ", " + name, nil
}

// testGreeter is a complete test of GreeterService. In the service's
// package it is func TestGreeter, next to
//
//	func TestMain(m *testing.M) {
//		spawn.Register(NewGreeterService)
//		bgkittest.Main(m)
//	}
//
// (an example cannot take a *testing.T; this package's tests run it).
func testGreeter(t *testing.T) {
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewGreeterService, GreeterArgs{Greeting: "Hello"})

	c, err := controller.Connect(t.Context(), b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := c.Call(t.Context(), "greet", "Ada", &got); err != nil || got != "Hello, Ada" {
		t.Fatalf("greet Ada = %q, %v; want Hello, Ada", got, err)
	}
	h.Logs().WaitFor(t, bgkittest.Attr("name", "Ada"), 10*time.Second)
}

// A test of a service: start a bus, spawn the service, call it, wait for
// what it logs. The cleanups stop the child and close the bus, and fail
// the test if the child crashed.
func Example() {
	// See testGreeter above.
}
