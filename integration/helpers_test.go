package integration

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/spawn"
)

// recorder is a slog.Handler that keeps records for assertions.
type recorder struct {
	mu      sync.Mutex
	cond    *sync.Cond
	records []slog.Record
	attrs   []slog.Attr
	parent  *recorder
}

// spawnRecorded spawns COUNTER_SERVICE (step 1) on b, its records going
// to a fresh recorder.
func spawnRecorded(t *testing.T, b *bus.Bus) (*spawn.Handle, *recorder) {
	t.Helper()
	rec := newRecorder()
	h, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Step: 1}, spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	return h, rec
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) root() *recorder {
	if r.parent != nil {
		return r.parent
	}
	return r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	if len(r.attrs) > 0 {
		rec.AddAttrs(r.attrs...)
	}
	root := r.root()
	root.mu.Lock()
	root.records = append(root.records, rec)
	root.mu.Unlock()
	root.cond.Broadcast()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{parent: r.root(), attrs: append(append([]slog.Attr{}, r.attrs...), as...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

func (r *recorder) all() []slog.Record {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	return append([]slog.Record(nil), root.records...)
}

// wait waits until a record matches pred.
func (r *recorder) wait(t testing.TB, timeout time.Duration, pred func(slog.Record) bool) slog.Record {
	t.Helper()
	root := r.root()
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() { root.cond.Broadcast() })
	defer stop.Stop()
	root.mu.Lock()
	defer root.mu.Unlock()
	for i := 0; ; {
		for ; i < len(root.records); i++ {
			if pred(root.records[i]) {
				return root.records[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching record within %v; have %d records", timeout, len(root.records))
		}
		root.cond.Wait()
	}
}

func attrs(rec slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Resolve(); return true })
	return m
}

func msgIs(msg string) func(slog.Record) bool {
	return func(r slog.Record) bool { return r.Message == msg }
}

// tool finds bin/<name> at the repository root (installed by make test)
// or on PATH.
func tool(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("BGKIT_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s not found in bin/ or PATH (make tools installs it)", name)
	}
	t.Skipf("%s not found in bin/ or PATH: run `make tools` (make test does)", name)
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
