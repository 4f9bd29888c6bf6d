package bgkittest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/services/canmonitor"
)

// SignalOption configures WaitSignal and Signal.
type SignalOption func(*signalConfig)

type signalConfig struct{ monitor string }

// OnMonitor asks the can-monitor service called name instead of
// canmonitor.DefaultName (CAN_MONITOR_SERVICE).
func OnMonitor(name string) SignalOption { return func(c *signalConfig) { c.monitor = name } }

// WaitSignal waits until the signal, as decoded by a can-monitor service
// on b, satisfies op value (op is one of == != < <= > >=) within d, and
// returns the sample that did. When d passes first it fails the test
// (t.Fatalf) with the condition and the last value seen:
//
//	bgkittest.WaitSignal(t, b, "VehicleSpeed", ">=", 50, 2*time.Second)
//
// The signal is named as can-monitor names it: "VehicleSpeed", or
// "ABS_Status.VehicleSpeed" when several messages have one of that name.
// The last value received counts: a signal that already satisfies the
// condition returns at once.
func WaitSignal(t testing.TB, b *bus.Bus, signal, op string, value float64, d time.Duration, opts ...SignalOption) canmonitor.Sample {
	t.Helper()
	c := monitor(t, b, opts)
	s, err := c.WaitSignal(t.Context(), signal, op, value, d)
	if err != nil {
		t.Fatalf("bgkittest.WaitSignal: %s %s %v within %v: %v", signal, op, value, d, err)
	}
	return s
}

// WaitSignalFunc is WaitSignal with any condition: it watches the signal
// (can-monitor's watch stream), from its last value on, and returns the
// first change for which match is true. Every value the signal takes is
// seen, even one that lasts a single frame. When d passes first it fails
// the test with the last value seen:
//
//	bgkittest.WaitSignalFunc(t, b, "VehicleSpeed", func(c canmonitor.SignalChange) bool {
//		return c.Value >= 48 && c.Value <= 52
//	}, 2*time.Second)
func WaitSignalFunc(t testing.TB, b *bus.Bus, signal string, match func(canmonitor.SignalChange) bool, d time.Duration, opts ...SignalOption) canmonitor.SignalChange {
	t.Helper()
	c := monitor(t, b, opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	last := "never seen"
	for ch, err := range c.Watch(ctx, canmonitor.WatchFilter{Signals: []string{signal}}) {
		if err != nil {
			// The stream ends at the deadline with context.DeadlineExceeded
			// (the service's 504 may come a moment before ctx ends here).
			if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("bgkittest.WaitSignalFunc %s: %v", signal, err)
			}
			break
		}
		if match(ch) {
			return ch
		}
		last = fmt.Sprintf("last %v at %s", ch.Value, ch.Time.Format("15:04:05.000"))
	}
	t.Fatalf("bgkittest.WaitSignalFunc: %s: no value matched within %v (%s)", signal, d, last)
	return canmonitor.SignalChange{}
}

// Signal returns the last value of a signal decoded by a can-monitor
// service on b (Seen is false if no frame carried it yet). A failed call
// fails the test.
func Signal(t testing.TB, b *bus.Bus, signal string, opts ...SignalOption) canmonitor.Sample {
	t.Helper()
	c := monitor(t, b, opts)
	s, err := c.Signal(t.Context(), signal)
	if err != nil {
		t.Fatalf("bgkittest.Signal %s: %v", signal, err)
	}
	return s
}

func monitor(t testing.TB, b *bus.Bus, opts []SignalOption) *canmonitor.Controller {
	t.Helper()
	var cfg signalConfig
	for _, o := range opts {
		o(&cfg)
	}
	c, err := canmonitor.Connect(t.Context(), b, cfg.monitor)
	if err != nil {
		t.Fatalf("bgkittest: can-monitor: %v", err)
	}
	return c
}
