package bgkittest

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// spawned tracks the children Spawn started: the process group of every
// child, which Main checks for leftovers, and which of them Spawn's
// cleanup has not terminated yet.
var spawned = struct {
	sync.Mutex
	groups map[int]string // process group id (the child's pid) → service name
	live   map[int]bool   // pids of children not yet terminated by their cleanup
}{groups: map[int]string{}, live: map[int]bool{}}

// Child is a child process started by [Spawn]: its [spawn.Handle] and the
// [LogRecorder] of what it logs.
type Child struct {
	*spawn.Handle
	logs *LogRecorder
}

// Logs returns the records the child has logged so far and those still to
// come, for assertions. It stays valid after the test has ended.
func (c *Child) Logs() *LogRecorder { return c.logs }

// Spawn runs the service made by ctor with args as a child process on b
// (see [spawn.Run]) and returns once it serves. A child that cannot start
// fails the test (t.Fatal) with the reason, exit status and stderr tail.
//
// When the test ends, a cleanup terminates the child and fails the test
// (t.Error) if the child had exited during the test with an error — it
// crashed — or if it did not stop cleanly (Shutdown failed, or it had to
// be killed after the grace period). The error carries the exit status and
// the tail of its stderr.
//
// The child's records, stdout and stderr lines go to the test's output,
// one line each, and to the [LogRecorder] of [Child.Logs]. To that end
// Spawn passes its own [spawn.WithLogger] after opts, so one among opts
// has no effect; [spawn.WithLogLevel] still applies (the default is
// DEBUG, every record the child logs).
//
// In a test binary built with -race, the child's GORACE gains
// atexit_sleep_ms=0 (unless GORACE sets it), so that stopping a child does
// not take the race detector's default second of sleep at exit.
func Spawn[A any, S service.Service](t testing.TB, b *bus.Bus, ctor func(A) (S, error), args A, opts ...spawn.Option) *Child {
	t.Helper()
	out := newTestOutput(t, true) // closed after the child is terminated below
	rec := newLogRecorder()
	rec.seen = out.flushNow
	bars := newBarriers()
	logger := slog.New(&recordHandler{s: &sinks{level: slog.LevelDebug, out: out, rec: rec, barriers: bars}})
	opts = append(slices.Clip(opts), spawn.WithLogger(logger))
	if env, ok := raceEnv(); ok {
		opts = append(opts, spawn.WithEnv(env))
	}
	h, err := spawn.Run(t.Context(), b, ctor, args, opts...)
	if err != nil {
		t.Fatalf("bgkittest.Spawn: %v", err)
	}
	rec.setName(h.ServiceName())
	out.flushNow() // what the child logged while starting goes before what the test does next
	spawned.Lock()
	spawned.groups[h.PID()] = h.ServiceName()
	spawned.live[h.PID()] = true
	spawned.Unlock()
	t.Cleanup(func() {
		t.Helper() // failures point at the Spawn call
		if t.Failed() {
			// The records the child logged before the failure are held
			// (see testOutput): collect those still in transit, then show
			// them all, before the child's shutdown adds its own.
			select {
			case <-h.Done(): // its relay has handed over all it will
			default:
				bars.sync(b, h.ServiceName())
			}
			out.release(h.ServiceName())
		}
		stop(t, h)
		out.release(h.ServiceName())
	})
	return &Child{Handle: h, logs: rec}
}

// stop terminates h and reports a crash or an unclean stop.
func stop(t testing.TB, h *spawn.Handle) {
	t.Helper()
	defer func() {
		spawned.Lock()
		delete(spawned.live, h.PID())
		spawned.Unlock()
	}()
	exited := false
	select {
	case <-h.Done():
		exited = true
	default:
	}
	err := h.Terminate(context.Background())
	switch {
	case err == nil:
	case exited:
		t.Errorf("bgkittest: %s crashed during the test: %v", h.ServiceName(), err)
	default:
		t.Errorf("bgkittest: %s did not stop cleanly: %v", h.ServiceName(), err)
	}
}

// raceEnv returns a GORACE setting without the race detector's second of
// sleep at exit, for a binary built with -race whose GORACE does not set
// it: every child of a race-enabled test binary would otherwise take a
// second longer to stop.
func raceEnv() (string, bool) {
	g := os.Getenv("GORACE")
	if !raceEnabled || strings.Contains(g, "atexit_sleep_ms") {
		return "", false
	}
	return "GORACE=" + strings.TrimSpace(g+" atexit_sleep_ms=0"), true
}

// Logs returns c.Logs().
//
// Deprecated: use [Child.Logs]. Logs remains so that callers written
// against the earlier Logs(h *spawn.Handle) still compile: their h, from
// Spawn, is a *Child now.
func Logs(c *Child) *LogRecorder { return c.Logs() }
