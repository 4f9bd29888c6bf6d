package integration

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/services/canrecorder"
	"github.com/bgkit/bgkit/services/cantraffic"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// The recorder scenario of issue 4, through real processes: a recorder
// child records what a generator child sends; once the generator's stats
// say it sent all N frames, the recorder is terminated, and its file holds
// exactly the N frames, the ones a node of the test saw. The file is then
// replayed by a can-traffic child in replay mode on another bus, where a
// second recorder captures the same frames with the same spacing.
//
// The kinds "can-traffic" and "can-recorder" are registered by TestMain
// (services.RegisterAll).
func TestCANRecorderCapturesGenerator(t *testing.T) {
	const n = 4000
	b := bgkittest.Bus(t)
	ctx := canCtx(t)
	dir := t.TempDir()
	recorded := filepath.Join(dir, "recorded.log")

	watch, err := can.Open(ctx, "virtual:e2e-gen", can.WithNATS(b.Conn()))
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	rec := spawnCAN(t, b, canrecorder.Kind, "", map[string]any{"bus": "virtual:e2e-gen", "path": recorded})

	// Every kind of frame (mixed standard/extended, classic/FD, remote),
	// in two bursts of 2000 back to back, 300 ms apart.
	gen := spawnCAN(t, b, cantraffic.Kind, "", map[string]any{
		"bus": "virtual:e2e-gen", "generator": map[string]any{"gap_ms": 300, "burst": n / 2, "count": n, "mix": true, "seed": 7}, "autostart": true,
	})
	genCtl, err := cantraffic.Connect(ctx, b, gen.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	defer genCtl.Close()
	st := awaitTraffic(t, genCtl, func(st cantraffic.Stats) bool { return st.Sent == n && !st.Running })
	if st.Errors != 0 {
		t.Fatalf("generator stats %+v", st)
	}

	// Terminate at once: frames of the last burst still on their way to
	// the recorder (it writes about 10⁵ frames/s) must reach the file
	// before Terminate returns.
	if err := rec.Terminate(ctx); err != nil {
		t.Fatalf("terminate recorder: %v", err)
	}
	seen := make([]can.Frame, 0, n)
	for len(seen) < n {
		r, err := watch.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d frames: %v", len(seen), err)
		}
		seen = append(seen, r.Frame)
	}
	got := readCANLog(t, recorded)
	if len(got) != n {
		t.Fatalf("the recorder's file holds %d frames; the generator sent %d", len(got), n)
	}
	if !slices.Equal(logFrames(got), seen) {
		t.Fatal("the recorder's file differs from the frames on the bus")
	}

	// Replay the file on another bus, recorded by a second recorder.
	replayed := filepath.Join(dir, "replayed.log")
	rec2 := spawnCAN(t, b, canrecorder.Kind, "REPLAY_RECORDER", map[string]any{"bus": "virtual:e2e-replay", "path": replayed})
	rep := spawnCAN(t, b, cantraffic.Kind, "REPLAY_TRAFFIC", map[string]any{
		"bus": "virtual:e2e-replay", "replay": map[string]any{"file": recorded, "loops": 1}, "autostart": true,
	})
	repCtl, err := cantraffic.Connect(ctx, b, rep.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	defer repCtl.Close()
	st = awaitTraffic(t, repCtl, func(st cantraffic.Stats) bool { return !st.Running })
	if st.Sent != n || st.Errors != 0 || st.Replay.LoopsDone != 1 || st.Replay.Frames != n {
		t.Fatalf("replay stats %+v %+v", st, st.Replay)
	}
	if err := rec2.Terminate(ctx); err != nil {
		t.Fatalf("terminate second recorder: %v", err)
	}
	again := readCANLog(t, replayed)
	if !slices.Equal(logFrames(again), logFrames(got)) {
		t.Fatalf("the replay recorded %d frames, not the %d of the file", len(again), len(got))
	}
	// The replay keeps the recorded spacing: the spans (about 300 ms)
	// agree to a fifth, leaving room for a stall of the machine.
	span := func(es []can.LogEntry) time.Duration { return es[len(es)-1].Time.Sub(es[0].Time) }
	if a, b := span(got), span(again); b < a*4/5 || b > a*5/4 {
		t.Errorf("the recording spans %v, its replay %v", a, b)
	}
}

// canCtx bounds a test of this file.
func canCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// spawnCAN spawns a child of kind with args (name "" for the default);
// it is terminated at cleanup and must have exited cleanly.
func spawnCAN(t *testing.T, b *bus.Bus, kind, name string, args map[string]any) *spawn.Handle {
	t.Helper()
	if _, ok := spawn.KindServiceName(kind); !ok {
		t.Fatalf("kind %q is not registered: TestMain must call services.RegisterAll()", kind)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	opts := []spawn.Option{spawn.WithLogger(slog.New(slog.DiscardHandler))}
	if name != "" {
		opts = append(opts, spawn.WithName(name))
	}
	h, err := spawn.RunKind(canCtx(t), b, kind, raw, opts...)
	if err != nil {
		t.Fatalf("spawn %s: %v", kind, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Terminate(ctx); err != nil {
			t.Errorf("terminate %s: %v", kind, err)
		}
	})
	return h
}

// awaitTraffic polls a generator's stats until cond holds: a counter in
// another process has no event to wait on.
func awaitTraffic(t *testing.T, c *cantraffic.Controller, cond func(cantraffic.Stats) bool) cantraffic.Stats {
	t.Helper()
	ctx := canCtx(t)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := c.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stats never got there: %+v", st)
		case <-tick.C:
		}
	}
}

// readCANLog reads every entry of a candump log file.
func readCANLog(t *testing.T, path string) []can.LogEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := can.ReadLog(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// logFrames returns the frames of entries.
func logFrames(entries []can.LogEntry) []can.Frame {
	out := make([]can.Frame, len(entries))
	for i, e := range entries {
		out[i] = e.Frame
	}
	return out
}
