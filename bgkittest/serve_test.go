package bgkittest_test

import (
	"context"
	"errors"
	"strings"
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

type panicky struct{}

func (panicky) Initialize(context.Context) error { return nil }
func (panicky) Shutdown(context.Context) error   { return nil }
func (panicky) Boom(context.Context) error       { panic("boom on purpose") }

// TestServeLogsToTest: the server's own records (here, a method that
// panicked) are lines of the test's output, not of the process's stderr.
func TestServeLogsToTest(t *testing.T) {
	b := bgkittest.Bus(t)
	rt := newRecordingTB(t)
	defer rt.finish()
	if !rt.run(func(tb testing.TB) { bgkittest.Serve(tb, b, panicky{}) }) {
		t.Fatalf("Serve failed: %s", rt.failures())
	}
	c, err := controller.Connect(t.Context(), b, "PANICKY")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), "boom", nil, nil); !errors.Is(err, controller.ErrServiceFailed) {
		t.Fatalf("boom: %v, want a 500", err)
	}
	rt.finish()
	if out := rt.out.String(); !strings.Contains(out, "serve ERROR method panicked") || !strings.Contains(out, "boom on purpose") {
		t.Fatalf("test output:\n%s\nwant the panic record", out)
	}
}
