package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// blocker's Block waits until release is closed; entered counts callers
// inside.
type blocker struct {
	release chan struct{}
	entered chan struct{}
}

func (*blocker) Initialize(context.Context) error { return nil }
func (*blocker) Shutdown(context.Context) error   { return nil }
func (b *blocker) Block(ctx context.Context) error {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

// serveBlocker serves a blocker as BLOCKER on its own connection to b's
// server, as a child would; closing that connection is its "death".
func serveBlocker(t *testing.T, b *bus.Bus) (*blocker, *bus.Bus) {
	t.Helper()
	own, err := bus.Dial(t.Context(), b.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	svc := &blocker{release: make(chan struct{}), entered: make(chan struct{}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, own, svc, service.WithName("BLOCKER"), service.WithLogger(slog.New(slog.DiscardHandler)), service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() { close(svc.release) })
		cancel()
		<-done
		own.Close()
	})
	return svc, own
}

func publishExit(t *testing.T, b *bus.Bus, ev bus.LifeEvent) {
	t.Helper()
	data, _ := json.Marshal(ev)
	if err := b.Conn().Publish(bus.LifeSubject(ev.Name), data); err != nil {
		t.Fatal(err)
	}
}

type callResult struct {
	err error
	at  time.Time
}

func blockCalls(t *testing.T, c *controller.Controller, svc *blocker, n int) chan callResult {
	t.Helper()
	results := make(chan callResult, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	for i := range n {
		go func() {
			var err error
			if i%2 == 0 {
				err = c.Call(ctx, "block", nil, nil)
			} else { // no deadline: the controller's own budget
				err = c.Call(context.Background(), "block", nil, nil)
			}
			results <- callResult{err, time.Now()}
		}()
	}
	for range n {
		<-svc.entered
	}
	return results
}

// failFastMargin is what the tests allow beyond the promised 100 ms, for a
// machine shared by many test processes; the benchmark in integration/
// measures the real figure.
const failFastMargin = 400 * time.Millisecond

func TestExitFailsCallsInFlight(t *testing.T) {
	b := bgkittest.Bus(t)
	svc, own := serveBlocker(t, b)
	c, err := controller.Connect(t.Context(), b, "BLOCKER", controller.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 50
	results := blockCalls(t, c, svc, n)
	own.Conn().Close() // the process died
	exited := time.Now()
	publishExit(t, b, bus.LifeEvent{Event: bus.LifeExited, Name: "BLOCKER", PID: 4242, Status: -1, Signal: "SIGKILL"})
	var worst time.Duration
	for range n {
		r := <-results
		if !errors.Is(r.err, controller.ErrServiceExited) {
			t.Fatalf("call = %v, want ErrServiceExited", r.err)
		}
		var ee *controller.ExitedError
		if !errors.As(r.err, &ee) || ee.PID != 4242 || !strings.Contains(r.err.Error(), "exited: killed by SIGKILL") {
			t.Fatalf("error %q does not name the exit", r.err)
		}
		worst = max(worst, r.at.Sub(exited))
	}
	t.Logf("50 calls failed within %v of the exit", worst)
	if worst > 100*time.Millisecond+failFastMargin {
		t.Errorf("slowest call failed %v after the exit", worst)
	}
	// A call after the exit: nobody serves the name.
	if err := c.Call(t.Context(), "block", nil, nil); !errors.Is(err, controller.ErrNoService) {
		t.Errorf("call after the exit = %v, want ErrNoService", err)
	}
}

// A forged exited event fails nothing: the live instance answers the ping.
func TestExitForgedEventFailsNothing(t *testing.T) {
	b := bgkittest.Bus(t)
	svc, _ := serveBlocker(t, b)
	c, err := controller.Connect(t.Context(), b, "BLOCKER", controller.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	results := blockCalls(t, c, svc, 10)
	publishExit(t, b, bus.LifeEvent{Event: bus.LifeExited, Name: "BLOCKER", Status: 1})
	// Wait for the controller to have judged the event: a second
	// subscriber's ping round trip after it is a fair bound.
	if err := c.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		t.Fatalf("a forged exit event ended a call: %v", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	close(svc.release)
	for range 10 {
		if r := <-results; r.err != nil {
			t.Fatalf("call = %v", r.err)
		}
	}
	svc.release = make(chan struct{}) // for the cleanup
}
