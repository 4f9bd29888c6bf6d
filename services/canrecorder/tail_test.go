package canrecorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/hexid"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		args   Args
		filter TailFilter
		want   []string
	}{
		{name: "all", want: []string{"123#01", "7E8#02", "1ABCDEF0#03", "7E0#04"}},
		{name: "ids", filter: TailFilter{IDs: []hexid.ID{0x7E8, 0x1ABCDEF0}}, want: []string{"7E8#02", "1ABCDEF0#03"}},
		{name: "candump filter", filter: TailFilter{Filters: []string{"7E0:7F0"}}, want: []string{"7E8#02", "7E0#04"}},
		{name: "ids and filter", filter: TailFilter{Filters: []string{"123:7FF"}, IDs: []hexid.ID{0x7E0}}, want: []string{"123#01", "7E0#04"}},
		{name: "after the recorder's filter", args: Args{IDs: []hexid.ID{0x123, 0x7E0}}, want: []string{"123#01", "7E0#04"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			tt.args.Path = filepath.Join(t.TempDir(), "rec.log")
			s := serve(t, b, tt.args)
			node := openNode(t, b)
			ctx := testCtx(t)
			got := make(chan []string, 1)
			go func() {
				var frames []string
				for fr, err := range s.c.Tail(ctx, tt.filter) {
					if err != nil {
						t.Errorf("tail: %v", err)
						break
					}
					if frames = append(frames, fr.String()); len(frames) == len(tt.want) {
						break
					}
				}
				got <- frames
			}()
			s.waitTails(t, 1)
			send(t, node, mustFrames(t, "123#01", "7E8#02", "1ABCDEF0#03", "7E0#04", "7FF#FF")...)
			if frames := <-got; !slices.Equal(frames, tt.want) {
				t.Fatalf("tail gave %v, want %v", frames, tt.want)
			}
			s.waitTails(t, 0) // leaving the loop ended the tail

		})
	}
}

func TestTailBadFilter(t *testing.T) {
	b := bgkittest.Bus(t)
	s := serve(t, b, Args{Path: filepath.Join(t.TempDir(), "rec.log")})
	for _, err := range s.c.Tail(testCtx(t), TailFilter{Filters: []string{"123"}}) {
		if !errors.Is(err, controller.ErrBadRequest) {
			t.Fatalf("err = %v, want a 400", err)
		}
		return
	}
	t.Fatal("no error")
}

// TestTailLag: a reader that falls behind costs the recorder nothing but
// the frames it has not taken, held by its tail, at most MaxTailBacklog of
// them: the recording goes on at once (the file gets every frame), a reader
// behind by a burst of 100,000 frames still gets each of them, and one
// further behind gets those its tail held, then ErrTailBehind. The memory
// held meanwhile is asserted from runtime.MemStats: at most 10 % and 512
// KiB above the frames' own size (a tail used to hold twice its backlog,
// and made the recorder wait, its frames piling up in NATS).
func TestTailLag(t *testing.T) {
	frameSize := float64(reflect.TypeFor[can.Frame]().Size())
	tests := []struct {
		name string
		// before: frames recorded before the reader takes its first one;
		// after: recorded while it holds it.
		before, after int
		wantAll       bool // the reader gets every frame, else the MaxTailBacklog first, then ErrTailBehind
	}{
		{name: "a burst of 100,000 frames", before: 1, after: 99_999, wantAll: true},
		{name: "more than the backlog", before: MaxTailBacklog, after: MaxTailBacklog + 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			s := serve(t, b, Args{Path: filepath.Join(t.TempDir(), "rec.log"), Autostart: new(false)})
			ctx := testCtx(t)
			total := tt.before + tt.after
			base := liveHeap()
			seq, err := s.svc.Tail(ctx, TailFilter{})
			if err != nil {
				t.Fatal(err)
			}
			record := func(from, to int) {
				for i := from; i < to; i++ {
					f := can.Frame{ID: 0x100, Len: 8}
					binary.BigEndian.PutUint32(f.Data[:4], uint32(i))
					s.svc.write(can.Received{Time: time.Now(), Frame: f})
				}
			}
			record(0, tt.before)

			first, release := make(chan struct{}), make(chan struct{})
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n := 0
				for f, err := range seq {
					if err != nil {
						done <- result{n, err}
						return
					}
					if got := int(binary.BigEndian.Uint32(f.Data[:4])); got != n {
						done <- result{n, fmt.Errorf("frame %d missing: got %d", n, got)}
						return
					}
					if n++; n == 1 {
						close(first)
						<-release
					}
					if n == total {
						break
					}
				}
				done <- result{n, nil}
			}()
			select {
			case <-first:
			case r := <-done:
				t.Fatalf("the tail ended after %d frames: %v", r.n, r.err)
			}
			record(tt.before, total)
			held := int64(liveHeap()) - int64(base)
			close(release)
			r := <-done

			bound := float64(min(total, MaxTailBacklog))*frameSize*1.1 + 512<<10
			t.Logf("%d frames recorded, the reader holding the first: heap +%.2f MiB, bound %.2f MiB; it got %d frames, then %v",
				total, float64(held)/(1<<20), bound/(1<<20), r.n, r.err)
			if float64(held) > bound {
				t.Errorf("the lagging tail held %.2f MiB, more than %d frames of %.0f bytes (+10%%, +512 KiB): %.2f MiB",
					float64(held)/(1<<20), min(total, MaxTailBacklog), frameSize, bound/(1<<20))
			}
			if tt.wantAll && (r.n != total || r.err != nil) {
				t.Errorf("the reader got %d frames of %d, then %v; want all", r.n, total, r.err)
			}
			if !tt.wantAll && (r.n != MaxTailBacklog || !errors.Is(r.err, ErrTailBehind)) {
				t.Errorf("the reader got %d frames of %d, then %v; want the MaxTailBacklog (%d) its tail held, then ErrTailBehind", r.n, total, r.err, MaxTailBacklog)
			}
			st, err := s.c.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Frames != uint64(total) {
				t.Errorf("the file has %d frames, want %d", st.Frames, total)
			}
			s.waitTails(t, 0)
		})
	}
}

// liveHeap returns the bytes of the heap objects alive after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
