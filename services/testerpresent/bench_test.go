package testerpresent

import (
	"context"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
)

// BenchmarkLateness runs the service on the virtual bus and measures how
// well it keeps its deadlines, at 10 ms and 2 s periods (targets: p99
// lateness ≤ 1 ms, mean period error ≤ 0.05 %). It reports:
//
//	svc-p50/p99/max-µs  lateness from the service's stats: deadline to
//	                    the request being handed to the bus
//	rx-p50/p99/max-µs   lateness by the receive timestamps of the frames
//	                    on another node, against the grid t0 + k·period
//	                    (t0 the earliest fit), so it includes the jitter
//	                    of the NATS transit
//	period-err-%        |mean received period − period| / period
//	skipped             periods skipped because the process did not get
//	                    the CPU within half a period (a loaded machine)
//	cpu-%               CPU time of the whole test process (service,
//	                    embedded NATS server, receiver) per wall time
//
// 10,000 periods take 100 s at 10 ms and 5.5 hours at 2 s, so by default
// it runs 1,000 periods at 10 ms and 5 at 2 s; BGKIT_BENCH_FULL=1 runs
// 10,000 of each. Run it with -benchtime 1x. On a machine whose cores are
// all busy with other work the wake-ups come late and the p99 can exceed
// 1 ms; the mean period error stays far below 0.05 %.
func BenchmarkLateness(b *testing.B) {
	full := os.Getenv("BGKIT_BENCH_FULL") == "1"
	for _, bc := range []struct {
		period         time.Duration
		periods, fullN int
	}{
		{period: 10 * time.Millisecond, periods: 1000, fullN: 10_000},
		{period: 2 * time.Second, periods: 5, fullN: 10_000},
	} {
		n := bc.periods
		if full {
			n = bc.fullN
		}
		b.Run(fmt.Sprintf("period=%v/periods=%d", bc.period, n), func(b *testing.B) {
			for range b.N {
				benchLateness(b, bc.period, n)
			}
		})
	}
}

func benchLateness(b *testing.B, period time.Duration, n int) {
	bus := bgkittest.Bus(b)
	obs := openNode(b, bus, "virtual:bench")
	h := serve(b, bus, Args{Bus: "virtual:bench", IntervalMS: int(period / time.Millisecond)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*period+waitTimeout)
	defer cancel()

	cpu0, wall0 := cpuTime(), time.Now()
	if err := h.tp.Start(ctx); err != nil {
		b.Fatal(err)
	}
	times := make([]time.Time, 0, n)
	for len(times) < n {
		r, err := obs.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, r.Time)
	}
	if err := h.tp.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	st := h.stats(b)
	if st.Errors != 0 {
		b.Errorf("stats %+v: want no errors", st)
	}

	// Received lateness against the best-fitting grid t0 + k·period.
	offs := make([]time.Duration, n)
	for k, t := range times {
		offs[k] = t.Sub(times[0]) - time.Duration(k)*period
	}
	minOff := slices.Min(offs)
	for k := range offs {
		offs[k] -= minOff
	}
	slices.Sort(offs)
	var periodErr float64
	if n > 1 {
		mean := times[n-1].Sub(times[0]).Seconds() / float64(n-1)
		periodErr = 100 * abs(mean-period.Seconds()) / period.Seconds()
	}

	b.ReportMetric(float64(st.LatenessP50US), "svc-p50-µs")
	b.ReportMetric(float64(st.LatenessP99US), "svc-p99-µs")
	b.ReportMetric(float64(st.LatenessMaxUS), "svc-max-µs")
	b.ReportMetric(float64(rank(offs, 50).Microseconds()), "rx-p50-µs")
	b.ReportMetric(float64(rank(offs, 99).Microseconds()), "rx-p99-µs")
	b.ReportMetric(float64(offs[n-1].Microseconds()), "rx-max-µs")
	b.ReportMetric(periodErr, "period-err-%")
	b.ReportMetric(float64(st.Skipped), "skipped")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(0, "ns/op")
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
