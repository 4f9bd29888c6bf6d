package bgkittest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
)

type echo struct{ shut bool }

func (*echo) Initialize(context.Context) error                 { return nil }
func (e *echo) Shutdown(context.Context) error                 { e.shut = true; return nil }
func (*echo) Echo(_ context.Context, s string) (string, error) { return s, nil }

func TestServe(t *testing.T) {
	b := bgkittest.Bus(t)
	svc := &echo{}
	t.Run("serves", func(t *testing.T) {
		info := bgkittest.Serve(t, b, svc)
		if info.Name != "ECHO" {
			t.Fatalf("name %q", info.Name)
		}
		c, err := controller.Connect(context.Background(), b, "ECHO")
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := c.Call(context.Background(), "echo", "hi", &out); err != nil || out != "hi" {
			t.Fatalf("echo = %q, %v", out, err)
		}
	})
	// The subtest's cleanup shut the service down.
	if !svc.shut {
		t.Fatal("Shutdown not called at cleanup")
	}
	if _, err := controller.Connect(context.Background(), b, "ECHO"); !errors.Is(err, controller.ErrNoService) {
		t.Fatalf("still served after cleanup: %v", err)
	}
}
