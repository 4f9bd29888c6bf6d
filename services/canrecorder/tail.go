package canrecorder

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

// TailFilter selects the frames of a tail stream, like the filters of
// Args. Empty: every frame recorded.
type TailFilter struct {
	// Filters in candump's syntax (see ParseFilter); a frame passes when
	// it passes one of them or has one of IDs.
	Filters []string `json:"filters,omitempty" doc:"candump filters (123:7FF, 200~700, ...); a frame passes one of them or has one of ids." example:"[\"700:700\"]"`
	// IDs: frames with one of these identifiers (a number, "0x7E8" or "7E8").
	IDs []hexid.ID `json:"ids,omitempty" doc:"Identifiers of the frames to stream, besides those that pass filters." example:"[\"0x7E8\"]"`
}

// MaxTailBacklog is how many frames a tail holds for a reader that falls
// behind. When it is full the recorder waits for the reader, up to
// TailStall; the bus's frames wait meanwhile in the recorder's node (as
// they do for a slow disk). A reader that takes nothing for TailStall ends
// its stream with an error: a tail never loses frames silently.
const (
	MaxTailBacklog = 1 << 14
	TailStall      = 2 * time.Second
)

// Tail streams the frames the recorder writes to its file from now on,
// those that pass f, until the caller stops. A reader more than
// MaxTailBacklog frames behind holds the recorder back (see TailStall);
// a tail's memory is at most twice MaxTailBacklog frames of 72 bytes
// (those queued and those the reader is working through).
func (s *CANRecorderService) Tail(ctx context.Context, f TailFilter) (iter.Seq2[can.Frame, error], error) {
	filters, err := parseFilters(f.Filters, f.IDs)
	if err != nil {
		return nil, service.BadRequest(fmt.Errorf("tail: %w", err))
	}
	t := newTail(filters, MaxTailBacklog, TailStall)
	s.tails.add(t)
	// Registered before the method returns, so that no frame recorded
	// after the stream opened is missed; removed when the stream ends.
	end := func() { t.end(); s.tails.remove(t) }
	stop := context.AfterFunc(ctx, end)
	return func(yield func(can.Frame, error) bool) {
		defer stop()
		defer end()
		t.frames(ctx, yield)
	}, nil
}

// frames yields what is queued until the reader stops, ctx ends or the
// reader took nothing for the stall time.
func (t *tail) frames(ctx context.Context, yield func(can.Frame, error) bool) {
	var spare []can.Frame
	for {
		batch, lost := t.take(spare)
		for i, fr := range batch {
			if !yield(fr, nil) {
				return
			}
			// A batch is up to a whole backlog: while the reader works
			// through it, a recorder waiting for space hears that the
			// reader takes frames (the stall is a reader taking none).
			if (i+1)%t.tookEvery == 0 {
				t.took()
			}
		}
		if lost {
			yield(can.Frame{}, fmt.Errorf("tail: the reader took nothing for %v with %d frames waiting", t.stall, t.backlog))
			return
		}
		spare = batch[:0]
		if len(batch) > 0 {
			continue
		}
		select {
		case <-t.signal:
		case <-ctx.Done():
			return
		}
	}
}

// tail is one reader's queue.
type tail struct {
	filters []can.Filter
	backlog int           // frames queued at most (MaxTailBacklog)
	stall   time.Duration // how long the recorder waits for a reader that takes nothing (TailStall)
	// tookEvery: the reader says it took frames every tookEvery of them.
	tookEvery int
	signal    chan struct{} // a frame was queued
	space     chan struct{} // the reader took frames
	done      chan struct{} // closed when the tail ends
	endOnce   sync.Once
	mu        sync.Mutex
	queue     []can.Frame
	lost      bool
}

func newTail(filters []can.Filter, backlog int, stall time.Duration) *tail {
	return &tail{filters: filters, backlog: backlog, stall: stall, tookEvery: max(1, backlog/64),
		signal: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{})}
}

func (t *tail) end() { t.endOnce.Do(func() { close(t.done) }) }

// took tells a push waiting for space that the reader took frames.
func (t *tail) took() {
	select {
	case t.space <- struct{}{}:
	default:
	}
}

// push queues f; with the queue full it waits for the reader, up to
// TailStall.
func (t *tail) push(f can.Frame) {
	if len(t.filters) > 0 && !matchAny(t.filters, &f) {
		return
	}
	t.mu.Lock()
	var stall *time.Timer
	for len(t.queue) >= t.backlog && !t.lost {
		t.mu.Unlock()
		if stall == nil {
			stall = time.NewTimer(t.stall)
			defer stall.Stop()
		}
		select {
		case <-t.space:
			stall.Reset(t.stall)
		case <-stall.C:
			t.mu.Lock()
			t.lost = true
			t.mu.Unlock()
		case <-t.done:
			return
		}
		t.mu.Lock()
	}
	if !t.lost {
		t.queue = append(t.queue, f)
	}
	t.mu.Unlock()
	select {
	case t.signal <- struct{}{}:
	default:
	}
}

// take returns the queued frames, giving spare for the next ones.
func (t *tail) take(spare []can.Frame) ([]can.Frame, bool) {
	t.mu.Lock()
	q := t.queue
	t.queue = spare
	lost := t.lost
	t.mu.Unlock()
	if len(q) > 0 {
		t.took()
	}
	return q, lost
}

func matchAny(filters []can.Filter, f *can.Frame) bool {
	for _, flt := range filters {
		if flt.Match(f) {
			return true
		}
	}
	return false
}

// tailSet holds the open tails of a recorder.
type tailSet struct {
	mu    sync.RWMutex
	tails map[*tail]struct{}
}

func (ts *tailSet) add(t *tail) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tails == nil {
		ts.tails = map[*tail]struct{}{}
	}
	ts.tails[t] = struct{}{}
}

func (ts *tailSet) remove(t *tail) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.tails, t)
}

func (ts *tailSet) push(f can.Frame) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for t := range ts.tails {
		t.push(f)
	}
}
