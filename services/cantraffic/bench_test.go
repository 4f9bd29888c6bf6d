package cantraffic

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
)

// BenchmarkGeneratorMaxRate measures how many frames per second the
// generator puts on a virtual bus with gap 0 (`cangen -g 0`). Each
// iteration is one run of BGKIT_BENCH_FRAMES frames (default 100000).
func BenchmarkGeneratorMaxRate(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BGKIT_BENCH_FRAMES")); err == nil && v > 0 {
		n = v
	}
	nb := bgkittest.Bus(b)
	c := serve(b, nb, Args{GapMS: new(0.0), Count: n, IDMode: "i", LenMode: "8", DataMode: "i"})
	var elapsed time.Duration
	var sent uint64
	for b.Loop() {
		t0 := time.Now()
		if err := c.Start(testCtx(b)); err != nil {
			b.Fatal(err)
		}
		st := waitStats(b, c, "the run to end", func(st Stats) bool { return !st.Running })
		elapsed += time.Since(t0)
		if st.Errors != 0 {
			b.Fatalf("%d send errors: %s", st.Errors, st.LastError)
		}
		sent = st.Sent
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "frames/s")
}
