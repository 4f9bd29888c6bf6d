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
	Filters []string `json:"filters,omitempty" doc:"candump filters (123:7FF, 200~700, ...); a frame passes one of them or has one of ids." example:"[\"700:700\"]"`
	// IDs: frames with one of these identifiers (a number, "0x7E8" or "7E8").
	IDs []hexid.ID `json:"ids,omitempty" doc:"Identifiers of the frames to stream, besides those that pass filters." example:"[\"0x7E8\"]"`
}

// MaxTailBacklog is how many frames a tail holds for a reader that falls
// behind, those queued and those its reader is working through: 76 bytes
// each, about 10 MiB. The recorder never waits for a reader; one further
// behind gets the frames its tail held, then ErrTailBehind, so that a tail
// never loses frames silently. A burst of 100,000 frames reaches a reader
// slower than the bus.
const MaxTailBacklog = 1 << 17

// ErrTailBehind ends a tail whose reader fell more than MaxTailBacklog
// frames behind the recorder.
var ErrTailBehind = fmt.Errorf("the reader fell more than %d frames behind the recorder", MaxTailBacklog)

// Tail streams the frames the recorder writes to its file from now on,
// those that pass f, until the caller stops. The recorder does not wait
// for the reader: a tail holds what its reader has not taken yet, at most
// MaxTailBacklog frames, and ends with ErrTailBehind beyond.
func (s *CANRecorderService) Tail(ctx context.Context, f TailFilter) (iter.Seq2[can.Frame, error], error) {
	filters, err := parseFilters(f.Filters, f.IDs)
	if err != nil {
		return nil, service.BadRequest(fmt.Errorf("tail: %w", err))
	}
	t := &tail{filters: filters, signal: make(chan struct{}, 1)}
	s.tails.add(t)
	// Registered before the method returns, so that no frame recorded
	// after the stream opened is missed; removed when the stream ends.
	end := func() { s.tails.remove(t) }
	stop := context.AfterFunc(ctx, end)
	return func(yield func(can.Frame, error) bool) {
		defer stop()
		defer end()
		var chunk [tailChunk]can.Frame
		for {
			n, lost := t.take(chunk[:])
			for i := range n {
				if !yield(chunk[i], nil) {
					return
				}
			}
			if n > 0 {
				continue
			}
			if lost {
				yield(can.Frame{}, fmt.Errorf("tail: %w", ErrTailBehind))
				return
			}
			select {
			case <-t.signal:
			case <-ctx.Done():
				return
			}
		}
	}, nil
}

// Sizes of a tail's storage, in frames.
const (
	// tailBlock is the length of the blocks a tail queues frames in (19
	// KiB): memory follows the backlog block by block, and nothing is
	// copied as it grows.
	tailBlock = 256
	// tailChunk is how many frames the reader takes at a time.
	tailChunk = 64
)

// tail is one reader's filter and queue. Its queue is a list of blocks,
// of which it keeps one spare, so that a steady stream allocates nothing.
type tail struct {
	filters []can.Filter
	signal  chan struct{} // a frame was queued in an empty queue

	mu     sync.Mutex
	blocks []*[tailBlock]can.Frame // the frames queued, oldest first
	head   int                     // index in blocks[0] of the oldest frame
	n      int                     // frames queued
	taken  int                     // frames in the reader's last take, still held
	spare  *[tailBlock]can.Frame   // a block to queue in next
	lost   bool                    // the reader fell behind: nothing more is queued
}

// push queues f if it passes the filters. It never waits: with the
// reader MaxTailBacklog frames behind, the tail takes nothing more and
// ends once the reader has taken what it holds.
func (t *tail) push(f *can.Frame) {
	if len(t.filters) > 0 && !matchAny(t.filters, f) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lost {
		return
	}
	if t.n+t.taken >= MaxTailBacklog {
		t.lost = true
		t.notify()
		return
	}
	at := t.head + t.n
	if at == len(t.blocks)*tailBlock {
		blk := t.spare
		if blk == nil {
			blk = new([tailBlock]can.Frame)
		}
		t.spare = nil
		t.blocks = append(t.blocks, blk)
	}
	t.blocks[at/tailBlock][at%tailBlock] = *f
	if t.n++; t.n == 1 {
		t.notify()
	}
}

// notify wakes the reader waiting for a frame. t.mu must be held.
func (t *tail) notify() {
	select {
	case t.signal <- struct{}{}:
	default:
	}
}

// take moves the oldest queued frames to dst and returns how many, and
// whether the reader fell behind. Those moved count as held until the
// next take: the reader is working through them.
func (t *tail) take(dst []can.Frame) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for n < len(dst) && t.n > 0 {
		blk := t.blocks[0]
		k := copy(dst[n:], blk[t.head:min(tailBlock, t.head+t.n)])
		n += k
		t.n -= k
		t.head += k
		if t.head == tailBlock || t.n == 0 {
			// The block is done with: keep it as the spare (a block
			// that was never filled is the one to queue in next).
			t.head = 0
			copy(t.blocks, t.blocks[1:])
			t.blocks[len(t.blocks)-1] = nil
			t.blocks = t.blocks[:len(t.blocks)-1]
			t.spare = blk
		}
	}
	t.taken = n
	return n, t.lost
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

// push queues f in every tail; it never waits for a reader.
func (ts *tailSet) push(f *can.Frame) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for t := range ts.tails {
		t.push(f)
	}
}
