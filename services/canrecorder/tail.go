package canrecorder

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

// TailFilter selects the frames of a tail stream, like the filters of
// Args. Empty: every frame recorded.
type TailFilter struct {
	// Filters in candump's syntax (see ParseFilter); a frame passes when
	// it passes one of them or has one of IDs.
	Filters []string `json:"filters,omitempty"`
	// IDs: frames with one of these identifiers (a number, "0x7E8" or "7E8").
	IDs []hexid.ID `json:"ids,omitempty"`
}

// MaxTailBacklog is how many frames a tail holds for a reader that falls
// behind; beyond it the stream ends with an error (the recorder never waits
// for a reader, and never drops frames of a tail silently).
const MaxTailBacklog = 1 << 16

// Tail streams the frames the recorder writes to its file from now on,
// those that pass f, until the caller stops. The bus cannot be slowed, so
// a reader more than MaxTailBacklog frames behind ends the stream with an
// error; memory grows with the backlog only (at most MaxTailBacklog
// frames of 72 bytes).
func (s *CANRecorderService) Tail(ctx context.Context, f TailFilter) (iter.Seq2[can.Frame, error], error) {
	filters, err := parseFilters(f.Filters, f.IDs)
	if err != nil {
		return nil, service.BadRequest(fmt.Errorf("tail: %w", err))
	}
	t := &tail{filters: filters, signal: make(chan struct{}, 1)}
	s.tails.add(t)
	// Registered before the method returns, so that no frame recorded
	// after the stream opened is missed; removed when the stream ends.
	stop := context.AfterFunc(ctx, func() { s.tails.remove(t) })
	return func(yield func(can.Frame, error) bool) {
		defer stop()
		defer s.tails.remove(t)
		var spare []can.Frame
		for {
			batch, lost := t.take(spare)
			for _, fr := range batch {
				if !yield(fr, nil) {
					return
				}
			}
			if lost {
				yield(can.Frame{}, fmt.Errorf("tail: the reader fell more than %d frames behind the bus", MaxTailBacklog))
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
	}, nil
}

// tail is one reader's queue.
type tail struct {
	filters []can.Filter
	signal  chan struct{} // a frame was queued
	mu      sync.Mutex
	queue   []can.Frame
	lost    bool
}

func (t *tail) push(f can.Frame) {
	if len(t.filters) > 0 && !matchAny(t.filters, &f) {
		return
	}
	t.mu.Lock()
	if len(t.queue) >= MaxTailBacklog {
		t.lost = true
	} else if !t.lost {
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
	defer t.mu.Unlock()
	q := t.queue
	t.queue = spare
	return q, t.lost
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
