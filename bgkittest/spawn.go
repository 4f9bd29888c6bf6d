package bgkittest

import (
	"context"
	"fmt"
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

// spawned tracks what Spawn started: the recorder of each live handle, and
// the process group of every child, which Main checks for leftovers.
var spawned = struct {
	sync.Mutex
	logs   map[*spawn.Handle]*LogRecorder
	groups map[int]string // process group id → service name
}{logs: map[*spawn.Handle]*LogRecorder{}, groups: map[int]string{}}

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
// one line each, and to the [LogRecorder] returned by [Logs]. To that end
// Spawn passes its own [spawn.WithLogger] after opts, so one among opts
// has no effect; [spawn.WithLogLevel] still applies (the default is
// DEBUG, every record the child logs).
//
// In a test binary built with -race, the child's GORACE gains
// atexit_sleep_ms=0 (unless GORACE sets it), so that stopping a child does
// not take the race detector's default second of sleep at exit.
func Spawn[A any, S service.Service](t testing.TB, b *bus.Bus, ctor func(A) (S, error), args A, opts ...spawn.Option) *spawn.Handle {
	t.Helper()
	out := newTestOutput(t) // closed after the child is terminated below
	rec := newLogRecorder()
	logger := slog.New(&recordHandler{s: &sinks{level: slog.LevelDebug, out: out, rec: rec}})
	opts = append(slices.Clip(opts), spawn.WithLogger(logger))
	if env, ok := raceEnv(); ok {
		opts = append(opts, spawn.WithEnv(env))
	}
	h, err := spawn.Run(t.Context(), b, ctor, args, opts...)
	if err != nil {
		t.Fatalf("bgkittest.Spawn: %v", err)
	}
	rec.setName(h.ServiceName())
	spawned.Lock()
	spawned.logs[h] = rec
	spawned.groups[h.PID()] = h.ServiceName()
	spawned.Unlock()
	t.Cleanup(func() {
		t.Helper() // failures point at the Spawn call
		stop(t, h)
	})
	return h
}

// stop terminates h and reports a crash or an unclean stop.
func stop(t testing.TB, h *spawn.Handle) {
	t.Helper()
	defer func() {
		spawned.Lock()
		delete(spawned.logs, h)
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

// Logs returns the recorder of a child started by [Spawn]. It panics for
// a handle Spawn did not return, or after the test's cleanup has
// terminated the child.
func Logs(h *spawn.Handle) *LogRecorder {
	spawned.Lock()
	defer spawned.Unlock()
	rec, ok := spawned.logs[h]
	if !ok {
		panic(fmt.Sprintf("bgkittest.Logs: %s (pid %d) was not started by bgkittest.Spawn, or its test has ended", h.ServiceName(), h.PID()))
	}
	return rec
}
