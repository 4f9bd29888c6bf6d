package canrecorder

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"

	"github.com/bgkit/bgkit/bgkittest"
)

// BenchmarkRecorderThroughput measures how many frames per second the
// recorder writes to its file while a node floods the virtual bus: each
// iteration sends BGKIT_BENCH_FRAMES frames (default 100000) and stops the
// recorder, which returns once all of them are on disk.
func BenchmarkRecorderThroughput(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BGKIT_BENCH_FRAMES")); err == nil && v > 0 {
		n = v
	}
	nb := bgkittest.Bus(b)
	node := openNode(b, nb)
	path := filepath.Join(b.TempDir(), "bench.log")
	s := serve(b, nb, Args{Path: path, Autostart: new(false)})
	frames := make([]can.Frame, n)
	for i := range frames {
		frames[i] = can.Frame{ID: uint32(i & 0x7FF), Len: 8, Data: [64]byte{byte(i), byte(i >> 8), byte(i >> 16)}}
	}
	ctx := testCtx(b)
	var elapsed time.Duration
	var total uint64
	for b.Loop() {
		if err := s.c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		before, _ := s.c.Stats(ctx)
		t0 := time.Now()
		send(b, node, frames...)
		if err := s.c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		// Stop waits drainIdle for frames that are not coming.
		elapsed += time.Since(t0) - drainIdle
		st, _ := s.c.Stats(ctx)
		if got := st.Frames - before.Frames; got != uint64(n) {
			b.Fatalf("recorded %d frames of %d (dropped %d)", got, n, st.Dropped)
		}
		total += uint64(n)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "frames/s")
	st, _ := s.c.Stats(ctx)
	b.ReportMetric(float64(st.Bytes)/float64(st.Frames), "bytes/frame")
}
