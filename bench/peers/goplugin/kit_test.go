package goplugin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// The Vs benchmarks run bgkit and go-plugin in one process, in alternating
// rounds, so that both see the same load of a shared machine: their ratios
// are what to judge (the separate benchmarks above and bgkit's in
// integration/ run one after the other, seconds apart). The bgkit child is
// this test binary too, serving EchoService.

// EchoArgs are EchoService's (none).
type EchoArgs struct{}

// EchoService is bgkit's echo(int) int.
type EchoService struct{}

// NewEchoService is EchoService's constructor for spawn.
func NewEchoService(EchoArgs) (*EchoService, error) { return &EchoService{}, nil }

// Initialize implements service.Service.
func (*EchoService) Initialize(context.Context) error { return nil }

// Shutdown implements service.Service.
func (*EchoService) Shutdown(context.Context) error { return nil }

// Echo returns n.
func (*EchoService) Echo(_ context.Context, n int) (int, error) { return n, nil }

var kitQuiet = spawn.WithLogger(slog.New(slog.DiscardHandler))

func kitBus(b *testing.B) *bus.Bus {
	bb, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bb.Close() })
	return bb
}

// kitStart spawns the bgkit child; BGKIT_BENCH_CHILD_ENV="K=V ..." adds
// entries to its environment (e.g. GOMAXPROCS=2), to measure them.
func kitStart(b *testing.B, bb *bus.Bus, name string) (*spawn.Handle, *controller.Controller) {
	ctx := context.Background()
	h, err := spawn.Run(ctx, bb, NewEchoService, EchoArgs{}, kitQuiet, spawn.WithName(name), spawn.WithEnv(strings.Fields(os.Getenv("BGKIT_BENCH_CHILD_ENV"))...))
	if err != nil {
		b.Fatal(err)
	}
	c, err := controller.Connect(ctx, bb, name)
	if err != nil {
		h.Terminate(ctx)
		b.Fatal(err)
	}
	return h, c
}

func kitEcho(c *controller.Controller) error {
	var v int
	if err := c.Call(context.Background(), "echo", 1, &v); err != nil {
		return err
	}
	if v != 1 {
		return fmt.Errorf("echo(1) = %d", v)
	}
	return nil
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func rate(b *testing.B, callers, per int, call func() error) float64 {
	var wg sync.WaitGroup
	var failed atomic.Int64
	t0 := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if call() != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d calls failed", failed.Load())
	}
	return float64(callers*per) / time.Since(t0).Seconds()
}

// BenchmarkVsCall: call latency (one caller, blocks of 1,000 calls
// alternating) and calls/s with 64 callers (alternating rounds).
func BenchmarkVsCall(b *testing.B) {
	bb := kitBus(b)
	h, c := kitStart(b, bb, "ECHO")
	defer h.Terminate(context.Background())
	pc, e := start(b)
	defer pc.Kill()
	plug := func() error { _, err := e.Echo(1); return err }
	kit := func() error { return kitEcho(c) }
	const blocks, block = 20, 1000
	var latKit, latPlug []time.Duration
	measure := func(call func() error, lat *[]time.Duration) {
		for range block {
			t0 := time.Now()
			if err := call(); err != nil {
				b.Fatal(err)
			}
			*lat = append(*lat, time.Since(t0))
		}
	}
	const rounds, callers, per = 9, 64, 300
	var ratio, rKit, rPlug []float64
	for range b.N {
		for range blocks {
			measure(kit, &latKit)
			measure(plug, &latPlug)
		}
		for range rounds {
			k, p := rate(b, callers, per, kit), rate(b, callers, per, plug)
			rKit, rPlug, ratio = append(rKit, k), append(rPlug, p), append(ratio, k/p)
		}
	}
	k50, p50 := us(percentile(latKit, 0.5)), us(percentile(latPlug, 0.5))
	k99, p99 := us(percentile(latKit, 0.99)), us(percentile(latPlug, 0.99))
	b.ReportMetric(k50, "bgkit-p50-µs")
	b.ReportMetric(p50, "goplugin-p50-µs")
	b.ReportMetric(k50/p50, "p50-ratio")
	b.ReportMetric(k99, "bgkit-p99-µs")
	b.ReportMetric(p99, "goplugin-p99-µs")
	b.ReportMetric(k99/p99, "p99-ratio")
	b.ReportMetric(median(rKit), "bgkit-calls/s")
	b.ReportMetric(median(rPlug), "goplugin-calls/s")
	b.ReportMetric(median(ratio), "calls/s-ratio")
}

// BenchmarkVsSpawnCall: spawn → first answered call and terminate,
// alternating one bgkit and one go-plugin child.
func BenchmarkVsSpawnCall(b *testing.B) {
	bb := kitBus(b)
	ctx := context.Background()
	const n = 20
	var kSpawn, kTerm, pSpawn, pTerm []time.Duration
	var kCPU, pCPU []float64 // the parent's CPU time per terminate, µs
	for range b.N {
		for i := range n {
			t0 := time.Now()
			h, c := kitStart(b, bb, fmt.Sprintf("ECHO%d", i))
			if err := kitEcho(c); err != nil {
				b.Fatal(err)
			}
			kSpawn = append(kSpawn, time.Since(t0))
			cpu := processCPU()
			t0 = time.Now()
			if err := h.Terminate(ctx); err != nil {
				b.Fatal(err)
			}
			kTerm = append(kTerm, time.Since(t0))
			kCPU = append(kCPU, us(processCPU()-cpu))
			c.Close()

			t0 = time.Now()
			pc, e := start(b)
			if _, err := e.Echo(1); err != nil {
				pc.Kill()
				b.Fatal(err)
			}
			pSpawn = append(pSpawn, time.Since(t0))
			cpu = processCPU()
			t0 = time.Now()
			pc.Kill()
			pTerm = append(pTerm, time.Since(t0))
			pCPU = append(pCPU, us(processCPU()-cpu))
		}
	}
	ks, ps := us(percentile(kSpawn, 0.5))/1e3, us(percentile(pSpawn, 0.5))/1e3
	kt, pt := us(percentile(kTerm, 0.5))/1e3, us(percentile(pTerm, 0.5))/1e3
	b.ReportMetric(ks, "bgkit-spawn-call-p50-ms")
	b.ReportMetric(ps, "goplugin-spawn-call-p50-ms")
	b.ReportMetric(ks/ps, "spawn-call-ratio")
	b.ReportMetric(kt, "bgkit-terminate-p50-ms")
	b.ReportMetric(pt, "goplugin-terminate-p50-ms")
	b.ReportMetric(kt/pt, "terminate-ratio")
	kc, pc := median(kCPU), median(pCPU)
	b.ReportMetric(kc, "bgkit-terminate-cpu-µs")
	b.ReportMetric(pc, "goplugin-terminate-cpu-µs")
	b.ReportMetric(kc/pc, "terminate-cpu-ratio")
}

// processCPU is the CPU time this process (the parent) has used, user
// and system, all its threads. Per terminate it is a steadier figure than
// the wall time: on two cores the parent's work while its child stops and
// exits is CPU the child's exit waits for.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
