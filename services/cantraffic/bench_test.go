package cantraffic

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	c := serve(b, nb, Args{Generator: &GeneratorArgs{GapMS: new(0.0), Count: n, IDMode: "i", LenMode: "8", DataMode: "i"}})
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

// BenchmarkRestbus runs a rest-bus of 100 messages with a 5 ms cycle
// (20000 messages/s) for a second per iteration and reports the rate
// sustained and, from the receive times on the bus, the mean period
// error of the messages, relative to their cycle.
func BenchmarkRestbus(b *testing.B) {
	const n, cycleMS = 100, 5
	var dbcText strings.Builder
	dbcText.WriteString("VERSION \"\"\nBS_:\nBU_: SIM\n")
	for i := range n {
		fmt.Fprintf(&dbcText, "BO_ %d M%d: 8 SIM\n SG_ S%d : 0|16@1+ (1,0) [0|65535] \"\" Vector__XXX\n SG_ C%d : 16|4@1+ (1,0) [0|15] \"\" Vector__XXX\n", 0x200+i, i, i, i)
	}
	dbcText.WriteString("BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535;\n")
	for i := range n {
		fmt.Fprintf(&dbcText, "BA_ \"GenMsgCycleTime\" BO_ %d %d;\n", 0x200+i, cycleMS)
	}
	path := filepath.Join(b.TempDir(), "bench.dbc")
	if err := os.WriteFile(path, []byte(dbcText.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	var counters []CounterArgs
	for i := range n {
		counters = append(counters, CounterArgs{Message: fmt.Sprintf("M%d", i), Signal: fmt.Sprintf("C%d", i)})
	}
	nb := bgkittest.Bus(b)
	node := openNode(b, nb)
	c := serve(b, nb, Args{Restbus: &RestbusArgs{DBC: path, Nodes: []string{"SIM"}, Counters: counters}})
	ctx := testCtx(b)
	var sent uint64
	var elapsed time.Duration
	var errSum float64
	var errN int
	for b.Loop() {
		first, last := map[uint32]time.Time{}, map[uint32]time.Time{}
		count := map[uint32]int{}
		before := stats(b, c).Sent
		t0 := time.Now()
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		for {
			r, err := node.Recv(rctx)
			if err != nil {
				break
			}
			if _, ok := first[r.ID]; !ok {
				first[r.ID] = r.Time
			}
			last[r.ID] = r.Time
			count[r.ID]++
		}
		cancel()
		if err := c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		sent += stats(b, c).Sent - before
		for id, k := range count {
			if k < 2 {
				continue
			}
			mean := last[id].Sub(first[id]).Seconds() / float64(k-1)
			errSum += math.Abs(mean-cycleMS/1000.0) / (cycleMS / 1000.0)
			errN++
		}
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
	if errN > 0 {
		b.ReportMetric(100*errSum/float64(errN), "period-err-%")
	}
}
