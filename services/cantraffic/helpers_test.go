package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait of a test, so that a hang fails instead
// of blocking the run.
const waitTimeout = 10 * time.Second

// testCtx ends when the test ends or after waitTimeout.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// serve serves a service made from args on b until the test ends and
// returns a controller for it.
func serve(tb testing.TB, b *bus.Bus, args Args) *Controller {
	tb.Helper()
	return serveNamed(tb, b, DefaultName, args)
}

// serveNamed is serve with a service name.
func serveNamed(tb testing.TB, b *bus.Bus, name string, args Args) *Controller {
	tb.Helper()
	svc, err := New(args)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	bgkittest.Serve(tb, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)), service.WithName(name))
	c, err := Connect(testCtx(tb), b, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// stats calls the stats method.
func stats(tb testing.TB, c *Controller) Stats {
	tb.Helper()
	st, err := c.Stats(testCtx(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// waitStats polls stats until cond holds: there is no event to wait on
// for a counter inside another service.
func waitStats(tb testing.TB, c *Controller, what string, cond func(Stats) bool) Stats {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		st := stats(tb, c)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; stats %+v", what, st)
		}
		<-tick.C
	}
}

// openNode attaches a node to the virtual bus bus0; it is closed when the
// test ends.
func openNode(tb testing.TB, b *bus.Bus) *can.Virtual {
	tb.Helper()
	n, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}

// recvN receives n frames from node.
func recvN(tb testing.TB, node can.Bus, n int) []can.Received {
	tb.Helper()
	ctx := testCtx(tb)
	out := make([]can.Received, 0, n)
	for len(out) < n {
		r, err := node.Recv(ctx)
		if err != nil {
			tb.Fatalf("after %d of %d frames: %v", len(out), n, err)
		}
		out = append(out, r)
	}
	return out
}

// hubServe makes a service from args and runs it on an in-process hub
// instead of NATS, with the test's context as its life; it returns the
// service and another node of the hub. The hub stamps each frame with the
// time of its Send, that is, of the service's send goroutine right after
// its wake-up: timing checks then measure the scheduler's actual wake-ups
// of the sender, not the delivery through NATS to another goroutine,
// which a loaded machine delays by milliseconds, unevenly.
func hubServe(tb testing.TB, args Args) (*CANTrafficService, *can.HubNode) {
	tb.Helper()
	s, err := New(args)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	hub := can.NewHub()
	node := hub.Attach()
	s.life, s.bus = tb.Context(), hub.Attach()
	tb.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		node.Close()
	})
	return s, node
}

// waitRun polls the stats of s (served by hubServe) until its run has
// ended.
func waitRun(tb testing.TB, s *CANTrafficService) Stats {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		st, err := s.Stats(testCtx(tb))
		if err != nil {
			tb.Fatal(err)
		}
		if !st.Running {
			return st
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for the run to end; stats %+v", st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// notEarly checks that no frame was sent before its deadline: frame i at
// or after start + want[i], where start was taken before the run started.
// The runners wait for absolute deadlines from a start of their own,
// taken later, and load can only delay a wake-up: this holds exactly,
// whatever the load, so it is checked without retries.
func notEarly(got []can.Received, want []time.Duration, start time.Time) error {
	var bad []string
	for i, r := range got {
		if at := r.Time.Sub(start); at < want[i] {
			bad = append(bad, fmt.Sprintf("frame %d at %v, due at %v", i, at, want[i]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("sent early: %s", strings.Join(bad, "; "))
	}
	return nil
}

// medianSpan is the median over the spans of span consecutive intervals
// between times, divided by span: the period of a periodic
// sender, robust to a few stalls of the scheduler (a stall lengthens the
// spans across it and, when the sender catches up, shortens the next few,
// but leaves the others, the majority, alone).
func medianSpan(times []time.Time, span int) time.Duration {
	var ds []time.Duration
	for i := 0; i+span < len(times); i++ {
		ds = append(ds, times[i+span].Sub(times[i])/time.Duration(span))
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// timingAttempts is how many times retryTiming tries.
const timingAttempts = 5

// retryTiming runs a timing check up to five times: on a machine shared
// with other work, a stall of the scheduler can upset one measurement,
// but hardly five in a row. The test fails when every attempt does.
func retryTiming(t *testing.T, check func() error) {
	t.Helper()
	var errs []error
	for range timingAttempts {
		err := check()
		if err == nil {
			if len(errs) > 0 {
				t.Logf("timing passed after %d failed attempts: %v", len(errs), errors.Join(errs...))
			}
			return
		}
		errs = append(errs, err)
	}
	t.Errorf("timing off in %d attempts:\n%v", timingAttempts, errors.Join(errs...))
}

// offsets checks that frames went at the wanted offsets from the first,
// within tol, against a reference that is the median error, so that a
// late first frame does not shift every other one. Up to maxOff frames
// may be off: a stall of the sender's thread on a loaded machine makes
// one frame late, or a few that were due during it, while a wrong speed,
// gap or drift puts most frames off.
func offsets(got []can.Received, want []time.Duration, tol time.Duration, maxOff int) error {
	errs := make([]time.Duration, len(got))
	for i, r := range got {
		errs[i] = r.Time.Sub(got[0].Time) - want[i]
	}
	ref := slices.Clone(errs)
	slices.Sort(ref)
	med := ref[len(ref)/2]
	var bad []string
	for i, e := range errs {
		if d := e - med; d < -tol || d > tol {
			bad = append(bad, fmt.Sprintf("frame %d at %v, want %v", i, got[i].Time.Sub(got[0].Time), want[i]))
		}
	}
	if len(bad) > maxOff {
		return fmt.Errorf("%d of %d frames off by more than %v (%d allowed): %s", len(bad), len(got), tol, maxOff, strings.Join(bad, "; "))
	}
	return nil
}
