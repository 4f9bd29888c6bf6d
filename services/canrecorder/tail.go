package canrecorder

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/internal/backlog"
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
	t := &tail{filters: filters, q: backlog.New[can.Frame](MaxTailBacklog, TailStall)}
	s.tails.add(t)
	// Registered before the method returns, so that no frame recorded
	// after the stream opened is missed; removed when the stream ends.
	end := func() { t.q.End(); s.tails.remove(t) }
	stop := context.AfterFunc(ctx, end)
	return func(yield func(can.Frame, error) bool) {
		defer stop()
		defer end()
		t.q.Drain(ctx, "tail", "frames", yield)
	}, nil
}

// tail is one reader's filter and queue.
type tail struct {
	filters []can.Filter
	q       *backlog.Queue[can.Frame]
}

// push queues f if it passes the filters; with the queue full it waits
// for the reader, up to TailStall.
func (t *tail) push(f can.Frame) {
	if len(t.filters) > 0 && !matchAny(t.filters, &f) {
		return
	}
	t.q.Push(f)
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
