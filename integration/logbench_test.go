package integration

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// logbenchHandler is a parent handler that takes per a record on average:
// it keeps to a schedule (record k is not done before start + k·per), so
// that the sleeps' own overhead does not slow it further. It counts the
// "spam" records and the drops the relay reports.
type logbenchHandler struct {
	per time.Duration

	mu      sync.Mutex
	start   time.Time
	spam    int64
	dropped int64
}

func (h *logbenchHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logbenchHandler) Handle(_ context.Context, rec slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rec.Message != "spam" {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "dropped" && a.Value.Kind() == slog.KindInt64 {
				h.dropped += a.Value.Int64()
			}
			return true
		})
		return nil
	}
	if h.spam == 0 {
		h.start = time.Now()
	}
	h.spam++
	if h.spam%20 == 0 {
		if d := time.Until(h.start.Add(time.Duration(h.spam) * h.per)); d > 0 {
			time.Sleep(d)
		}
	}
	return nil
}

func (h *logbenchHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logbenchHandler) WithGroup(string) slog.Handler      { return h }

// logbenchResetPeakRSS resets this process's peak resident memory
// (VmHWM), so that a later read shows the peak of what follows.
func logbenchResetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// BenchmarkLogBurst: a child logs 1,000,000 records in one burst into a
// parent handler that takes 50 µs a record (20,000 records/s). Reports how
// many reached the handler, how many the relay reported dropped (the two
// add up to 1,000,000 or records were lost silently), the parent's peak
// resident memory during the burst (this process: the test, the embedded
// server and the relay) and its growth, and the child's record rate
// (records / duration of the log call: the pace the parent set).
func BenchmarkLogBurst(b *testing.B) {
	const n = 1000000
	var delivered, dropped int64
	var peak, growth, childRate float64
	for range b.N {
		bb := benchBus(b)
		h := &logbenchHandler{per: 50 * time.Microsecond}
		name := fmt.Sprint("LOGBURST", time.Now().UnixNano())
		sh, err := spawn.Run(context.Background(), bb, NewCounterService, CounterArgs{Step: 1},
			spawn.WithLogger(slog.New(h)), spawn.WithName(name))
		if err != nil {
			b.Fatal(err)
		}
		c, err := controller.Connect(context.Background(), bb, name)
		if err != nil {
			b.Fatal(err)
		}
		logbenchResetPeakRSS()
		before := procMB("/proc/self/status", "VmRSS:")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		t0 := time.Now()
		err = c.Call(ctx, "log", n, nil)
		took := time.Since(t0)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if err := sh.Terminate(context.Background()); err != nil {
			b.Fatal(err)
		}
		peak = procMB("/proc/self/status", "VmHWM:")
		growth = peak - before
		childRate = n / took.Seconds()
		h.mu.Lock()
		delivered, dropped = h.spam, h.dropped
		h.mu.Unlock()
	}
	b.ReportMetric(float64(delivered), "delivered")
	b.ReportMetric(float64(dropped), "dropped")
	b.ReportMetric(float64(n-delivered-dropped), "lost")
	b.ReportMetric(peak, "parent-peak-RSS-MB")
	b.ReportMetric(growth, "parent-RSS-growth-MB")
	b.ReportMetric(childRate, "child-records/s")
}
