package canmonitor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

// lagMonitor returns a monitor of the example car, not served, and a
// function that has it decode n frames of ABS_Status from index from on;
// the frame of index i is stamped t0 + i ns, so that a watch's change
// says which frame it came from.
func lagMonitor(t testing.TB) (*CANMonitorService, func(from, to int), time.Time) {
	t.Helper()
	s, err := New(Args{DBC: "../../examples/car.dbc"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.mon.db.Encode("ABS_Status", map[string]float64{"VehicleSpeed": 50})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	decode := func(from, to int) {
		for i := from; i < to; i++ {
			s.mon.handle(can.Received{Time: t0.Add(time.Duration(i)), Frame: f})
		}
	}
	return s, decode, t0
}

// everySpeed selects one change a frame of ABS_Status.
var everySpeed = WatchFilter{Signals: []string{"VehicleSpeed"}, Every: true}

// TestWatchLag: a watch whose reader falls behind holds what its reader
// has not taken, at most MaxWatchBacklog changes, whatever batch the
// reader is working through (a watch used to hold twice its backlog: the
// changes queued and the batch in the reader's hands). The memory is
// asserted from runtime.MemStats: at most 10 % and 512 KiB above the
// changes' own size (a SignalChange, and its previous value, allocated on
// its own: 16 bytes).
func TestWatchLag(t *testing.T) {
	changeSize := float64(reflect.TypeFor[SignalChange]().Size()) + 16
	tests := []struct {
		name string
		// before: frames decoded before the reader takes its first
		// change; after: decoded while it holds it.
		before, after int
		wantAll       bool // the reader gets every change, else the MaxWatchBacklog first, then ErrWatchBehind
	}{
		{name: "a burst within the backlog", before: 1, after: MaxWatchBacklog - 1, wantAll: true},
		{name: "a backlog taken, a backlog queued", before: MaxWatchBacklog, after: MaxWatchBacklog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, decode, t0 := lagMonitor(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			total := tt.before + tt.after
			if f, err := s.mon.db.Encode("ABS_Status", nil); err == nil {
				s.mon.db.Decode(f) // the decoder's first frame allocates for good
			}
			base := liveHeap()
			seq, err := s.Watch(ctx, everySpeed)
			if err != nil {
				t.Fatal(err)
			}
			decode(0, tt.before)
			next, stop := iter.Pull2(seq)
			defer stop()
			if _, err, ok := next(); err != nil || !ok { // the reader holds its first batch
				t.Fatalf("no first change: %v", err)
			}
			decode(tt.before, total)
			held := int64(liveHeap()) - int64(base)

			n, err := 1, error(nil)
			for n < total {
				c, e, ok := next()
				if !ok {
					break
				}
				if e != nil {
					err = e
					break
				}
				if got := int(c.Time.Sub(t0)); got != n {
					t.Fatalf("change %d missing: got that of frame %d", n, got)
				}
				n++
			}
			bound := float64(min(total, MaxWatchBacklog))*changeSize*1.1 + 512<<10
			t.Logf("%d changes, the reader holding its first batch: heap +%.2f MiB, bound %.2f MiB; it got %d changes, then %v",
				total, float64(held)/(1<<20), bound/(1<<20), n, err)
			if float64(held) > bound {
				t.Errorf("the lagging watch held %.2f MiB, more than %d changes of %.0f bytes (+10%%, +512 KiB): %.2f MiB",
					float64(held)/(1<<20), min(total, MaxWatchBacklog), changeSize, bound/(1<<20))
			}
			if tt.wantAll && (n != total || err != nil) {
				t.Errorf("the reader got %d changes of %d, then %v; want all", n, total, err)
			}
			if !tt.wantAll && (n != MaxWatchBacklog || !errors.Is(err, ErrWatchBehind)) {
				t.Errorf("the reader got %d changes of %d, then %v; want the MaxWatchBacklog (%d) its watch held, then ErrWatchBehind", n, total, err, MaxWatchBacklog)
			}
		})
	}
}

// TestWatchSlowReader: a reader slower than the bus, taking changes all
// along, never makes the monitor wait: each frame is decoded at once, a
// fast watch gets every change as it comes, and the slow one gets what
// its watch held, in order, then ErrWatchBehind (or every change, if it
// kept within the backlog).
func TestWatchSlowReader(t *testing.T) {
	s, decode, t0 := lagMonitor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := 3*MaxWatchBacklog + 1000
	fast, err := s.Watch(ctx, everySpeed)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := s.Watch(ctx, everySpeed)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	read := func(seq iter.Seq2[SignalChange, error], slowly <-chan struct{}, out chan<- result) {
		got := 0
		for c, err := range seq {
			if err != nil {
				out <- result{got, err}
				return
			}
			if i := int(c.Time.Sub(t0)); i != got {
				out <- result{got, fmt.Errorf("change %d missing: got that of frame %d", got, i)}
				return
			}
			if got++; got == n {
				break
			}
			if slowly != nil && got == 1 {
				<-slowly // takes nothing more until every frame is decoded
			}
		}
		out <- result{got, nil}
	}
	produced := make(chan struct{})
	fastDone, slowDone := make(chan result, 1), make(chan result, 1)
	go read(fast, nil, fastDone)
	go read(slow, produced, slowDone)

	t1 := time.Now()
	for i := range n {
		decode(i, i+1)
	}
	took := time.Since(t1)
	close(produced)
	st, _ := s.Stats(ctx)
	f, sl := <-fastDone, <-slowDone
	t.Logf("%d frames decoded in %v (%.0f frames/s) while the slow watch's reader held its first change; stats: %d decoded; fast watch: %d changes, %v; slow watch: %d changes, then %v",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), st.Decoded, f.n, f.err, sl.n, sl.err)
	if st.Decoded != uint64(n) {
		t.Errorf("stats say %d frames decoded of %d", st.Decoded, n)
	}
	if f.n != n || f.err != nil {
		t.Errorf("the fast watch got %d changes of %d, then %v", f.n, n, f.err)
	}
	if sl.n != n && (sl.n < MaxWatchBacklog || !errors.Is(sl.err, ErrWatchBehind)) {
		t.Errorf("the slow watch got %d changes of %d, then %v; want all, or at least the backlog then ErrWatchBehind", sl.n, n, sl.err)
	}
}

// liveHeap returns the bytes of the heap objects alive after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
