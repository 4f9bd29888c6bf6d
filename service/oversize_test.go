package service_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type bigReplier struct{}

func (bigReplier) Initialize(context.Context) error { return nil }
func (bigReplier) Shutdown(context.Context) error   { return nil }
func (bigReplier) Big(ctx context.Context, n int) (string, error) {
	return strings.Repeat("x", n), nil
}

// A reply larger than the server's max payload is a 500 naming the size,
// at once, and the service keeps serving.
func TestOversizedReplyIs500(t *testing.T) {
	b := bgkittest.Bus(t, bus.WithMaxPayload(64<<10))
	bgkittest.Serve(t, b, bigReplier{}, service.WithLogger(slog.New(slog.DiscardHandler)))
	c, err := controller.Connect(t.Context(), b, "BIG_REPLIER")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Call(ctx, "big", 100<<10, nil)
	took := time.Since(start)
	if !errors.Is(err, controller.ErrServiceFailed) || !strings.Contains(err.Error(), "102402 bytes") ||
		!strings.Contains(err.Error(), "65536") {
		t.Fatalf("oversized reply: %v (after %v), want a 500 naming 102402 and 65536 bytes", err, took)
	}
	if took > 5*time.Second {
		t.Errorf("the error took %v", took)
	}
	var s string
	if err := c.Call(ctx, "big", 10, &s); err != nil || len(s) != 10 {
		t.Fatalf("after the oversized reply: %q %v", s, err)
	}
}
