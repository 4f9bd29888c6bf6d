package controller_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// didService refuses DIDs it does not know, quoting what it got, as
// service authors commonly do; it counts how often it ran.
type didService struct{ runs atomic.Int64 }

func (*didService) Initialize(context.Context) error { return nil }
func (*didService) Shutdown(context.Context) error   { return nil }
func (s *didService) Select(ctx context.Context, did string) error {
	s.runs.Add(1)
	return service.BadRequest(fmt.Errorf("unknown DID %q", did))
}

func connectDID(t *testing.T) (*didService, *controller.Controller) {
	t.Helper()
	b := bgkittest.Bus(t)
	svc := &didService{}
	bgkittest.Serve(t, b, svc, service.WithName("DID_SERVICE"))
	c, err := controller.Connect(t.Context(), b, "DID_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return svc, c
}

// A method's own 400 that quotes an input holding RS (the first byte of
// the budget prefix) is not a refusal of the prefix: the call, which ran,
// is not sent again (methods need not be idempotent).
func TestCallNotSentAgainWhenTheMethodQuotesRS(t *testing.T) {
	svc, c := connectDID(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := c.Call(ctx, "select", "F1\x1e90", nil) // a DID read from a file with a stray separator
	if !errors.Is(err, controller.ErrBadRequest) {
		t.Fatalf("call: %v", err)
	}
	if n := svc.runs.Load(); n != 1 {
		t.Fatalf("the method ran %d times for one call (error: %v)", n, err)
	}
}

// Method names no service can have fail at once, none as ErrNoService
// (the service is up), and the controller goes on working.
func TestOddMethodNames(t *testing.T) {
	_, c := connectDID(t)
	for _, m := range []string{"", "a b", "*", ">", "select.x", "Select", "sel\x00ect", "a\tb"} {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		start := time.Now()
		err := c.Call(ctx, m, "x", nil)
		cancel()
		if errors.Is(err, controller.ErrNoService) {
			t.Errorf("%q: %v: the service is up; ErrNoService says nobody serves the name", m, err)
		}
		if err == nil || time.Since(start) > time.Second {
			t.Errorf("%q: %v after %v", m, err, time.Since(start))
		}
	}
	for _, err := range c.Stream(t.Context(), "", nil) {
		if err == nil || errors.Is(err, controller.ErrNoService) {
			t.Errorf("stream of method \"\": %v", err)
		}
		break
	}
	if err := c.Call(t.Context(), "select", "F190", nil); !errors.Is(err, controller.ErrBadRequest) {
		t.Fatalf("after them: %v", err)
	}
}
