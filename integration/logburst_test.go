package integration

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// logburstHandler is a parent handler that is slower than the child: it
// takes about perRecord a record (sleeping every 10th record, as a single
// sleep of 100 µs takes far longer on a loaded machine) and, until gate
// is closed, does not return at all for them. It counts the child's "spam" records,
// checks they come in order, and sums what the relay says was dropped or
// lost.
type logburstHandler struct {
	perRecord time.Duration
	gate      chan struct{} // Handle blocks until it is closed (nil: never)

	mu       sync.Mutex
	attrs    []slog.Attr
	spam     int64 // records "spam" relayed
	next     int64 // the i expected next
	disorder string
	dropped  int64 // sum of the dropped counts the relay reported
	dropRecs []slog.Record
	others   []slog.Record
	root     *logburstHandler
}

func (h *logburstHandler) r() *logburstHandler {
	if h.root != nil {
		return h.root
	}
	return h
}

func (h *logburstHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logburstHandler) Handle(_ context.Context, rec slog.Record) error {
	root := h.r()
	if root.gate != nil && rec.Message == "spam" {
		<-root.gate
	}
	rec = rec.Clone()
	rec.AddAttrs(h.attrs...)
	root.mu.Lock()
	defer root.mu.Unlock()
	switch a := attrs(rec); {
	case rec.Message == "spam":
		root.spam++
		if root.spam%10 == 0 && root.perRecord > 0 {
			time.Sleep(10 * root.perRecord)
		}
		if i := a["i"].Int64(); i != root.next && root.disorder == "" && root.dropped == 0 {
			root.disorder = fmt.Sprintf("record i=%d after i=%d", i, root.next-1)
		}
		root.next = a["i"].Int64() + 1
	case a["dropped"].Kind() == slog.KindInt64 || a["lost"].Kind() == slog.KindInt64:
		// Dropped (a full queue) or lost in transit: either way reported.
		for _, k := range []string{"dropped", "lost"} {
			if a[k].Kind() == slog.KindInt64 {
				root.dropped += a[k].Int64()
			}
		}
		root.dropRecs = append(root.dropRecs, rec)
	default:
		root.others = append(root.others, rec)
	}
	return nil
}

func (h *logburstHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logburstHandler{root: h.r(), attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *logburstHandler) WithGroup(string) slog.Handler { return h }

func (h *logburstHandler) seen(msg string) bool {
	root := h.r()
	root.mu.Lock()
	defer root.mu.Unlock()
	for _, r := range root.others {
		if r.Message == msg {
			return true
		}
	}
	return false
}

func (h *logburstHandler) counts() (spam, dropped int64, disorder string) {
	root := h.r()
	root.mu.Lock()
	defer root.mu.Unlock()
	return root.spam, root.dropped, root.disorder
}

// logburstAwait polls cond (every 10 ms) for up to timeout: the handler
// has no event to wait on that covers "this record has been handled".
func logburstAwait(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestLogBurstSlowParentLosesNothing (finding 1): 100,000 records logged
// in a burst into a parent handler that takes ~100 µs a record. The parent
// cannot keep up, so the child is slowed: every record arrives, in order,
// none is dropped, a record logged after the burst arrives too, and
// Terminate does not wait out a timer for the end of the log.
func TestLogBurstSlowParentLosesNothing(t *testing.T) {
	const n = 100000
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h := &logburstHandler{perRecord: 100 * time.Microsecond}
	sh, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithLogger(slog.New(h)), spawn.WithName("LOGBURST_SLOW"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.Connect(ctx, b, "LOGBURST_SLOW")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := c.Call(cctx, "log", n, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("the child logged %d records in %v", n, time.Since(t0))
	if err := c.Call(cctx, "hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	if !logburstAwait(60*time.Second, func() bool { return h.seen("hello") }) {
		spam, dropped, _ := h.counts()
		t.Fatalf("the record logged after the burst never arrived (%d spam relayed, %d reported dropped): the relay died", spam, dropped)
	}
	t1 := time.Now()
	if err := sh.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	// Terminate waits 5 s for an end-of-log marker that never comes when
	// the relay is dead; a live one gets it at once. 3 s of margin for load.
	if d := time.Since(t1); d > 2*time.Second {
		t.Errorf("Terminate took %v", d)
	}
	spam, dropped, disorder := h.counts()
	if spam != n || dropped != 0 || disorder != "" {
		t.Fatalf("relayed %d of %d records, %d reported dropped, order: %q; want all, none dropped, in order", spam, n, dropped, disorder)
	}
}

// TestLogBurstStuckParentCountsDrops (finding 1): while the parent's
// handler does not return at all, the child cannot be slowed for ever: it
// goes on, the parent's relay keeps a bounded queue and drops the rest.
// Nothing is lost silently: relayed + reported dropped = logged, the drop
// report names the service, and the relay survives to relay what comes
// after.
func TestLogBurstStuckParentCountsDrops(t *testing.T) {
	const n = 100000
	ctx := context.Background()
	b := bgkittest.Bus(t)
	gate := make(chan struct{})
	h := &logburstHandler{gate: gate}
	opened := sync.OnceFunc(func() { close(gate) })
	defer opened()
	sh, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithLogger(slog.New(h)), spawn.WithName("LOGBURST_STUCK"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.Connect(ctx, b, "LOGBURST_STUCK")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.Call(cctx, "log", n, nil); err != nil {
		t.Fatal(err)
	}
	opened() // the parent's handler comes back
	// A record logged now may find the relay's queue still full of the
	// burst (and be dropped, with a count): log one every 500 ms until
	// one arrives.
	hellos, last := 0, time.Time{}
	if !logburstAwait(30*time.Second, func() bool {
		if time.Since(last) > 500*time.Millisecond {
			if err := c.Call(cctx, "hello", nil, nil); err != nil {
				t.Fatal(err)
			}
			hellos, last = hellos+1, time.Now()
		}
		return h.seen("hello")
	}) {
		spam, dropped, _ := h.counts()
		h.mu.Lock()
		for _, r := range append(h.others, h.dropRecs...) {
			t.Logf("record: %v %q %v", r.Level, r.Message, attrs(r))
		}
		h.mu.Unlock()
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Logf("goroutines:\n%s", stacks.String())
		t.Fatalf("no record logged after the burst arrived (%d spam relayed, %d reported dropped): the relay died", spam, dropped)
	}
	t1 := time.Now()
	if err := sh.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t1); d > 2*time.Second {
		t.Errorf("Terminate took %v", d)
	}
	spam, dropped, _ := h.counts()
	t.Logf("relayed %d, reported dropped %d, %d hello records logged", spam, dropped, hellos)
	// The drops may include hello records.
	if spam+dropped < n || spam+dropped > n+int64(hellos)-1 {
		t.Fatalf("relayed %d + reported dropped %d = %d, want %d (+ up to %d hello records): records lost silently", spam, dropped, spam+dropped, n, hellos-1)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.dropRecs {
		if attrs(r)["service"].String() != "LOGBURST_STUCK" || r.Level < slog.LevelWarn {
			t.Errorf("drop report %v %q %v: want WARN or above naming the service", r.Level, r.Message, attrs(r))
		}
	}
}
