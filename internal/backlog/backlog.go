// Package backlog is the bounded queue between a producer that cannot
// lose items silently and one stream's reader: a recorder's frames for a
// tail, a monitor's signal changes for a watch.
//
// When the queue holds its backlog the producer waits for the reader, up
// to the stall time; a reader that takes nothing for that long loses the
// queue, which then takes nothing more, and its stream ends with an error
// once what was queued is delivered. A reader slower than the producer but
// taking items all along is not stalled, however long it takes to work
// through one backlog.
package backlog

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Queue is one reader's queue of items of type T. Its memory is at most
// twice the backlog: the items queued and those the reader works through.
type Queue[T any] struct {
	backlog int           // items queued at most
	stall   time.Duration // how long Push waits for a reader that takes nothing
	// tookEvery: the reader says it took items every tookEvery of them.
	tookEvery int
	signal    chan struct{} // items were queued
	space     chan struct{} // the reader took items
	done      chan struct{} // closed by End
	endOnce   sync.Once
	mu        sync.Mutex
	queue     []T
	lost      bool
}

// New returns a queue of at most backlog items whose reader is given up
// after taking nothing for stall.
func New[T any](backlog int, stall time.Duration) *Queue[T] {
	return &Queue[T]{backlog: backlog, stall: stall, tookEvery: max(1, backlog/64),
		signal: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{})}
}

// End ends the queue: a Push waiting for space returns. It is idempotent.
func (q *Queue[T]) End() { q.endOnce.Do(func() { close(q.done) }) }

// Seed queues items whatever the backlog: the values known when a stream
// opens, before its reader starts.
func (q *Queue[T]) Seed(items []T) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	q.queue = append(q.queue, items...)
	q.mu.Unlock()
	q.notify()
}

// Push queues items in order; with the queue full it waits for the
// reader, up to the stall time each time the reader takes nothing. Once
// the reader is lost, or the queue ended, it queues nothing.
func (q *Queue[T]) Push(items ...T) {
	var stall *time.Timer
	queued := false
	q.mu.Lock()
	for _, it := range items {
		for len(q.queue) >= q.backlog && !q.lost {
			q.mu.Unlock()
			if stall == nil {
				stall = time.NewTimer(q.stall)
				defer stall.Stop()
			}
			select {
			case <-q.space:
				stall.Reset(q.stall)
			case <-stall.C:
				q.mu.Lock()
				q.lost = true
				q.mu.Unlock()
			case <-q.done:
				return // the reader is gone
			}
			q.mu.Lock()
		}
		if q.lost {
			break
		}
		q.queue = append(q.queue, it)
		queued = true
	}
	q.mu.Unlock()
	if queued {
		q.notify()
	}
}

func (q *Queue[T]) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// took tells a Push waiting for space that the reader took items.
func (q *Queue[T]) took() {
	select {
	case q.space <- struct{}{}:
	default:
	}
}

// Take returns the queued items, giving spare for the next ones, and
// whether the reader was lost.
func (q *Queue[T]) Take(spare []T) ([]T, bool) {
	q.mu.Lock()
	items := q.queue
	q.queue = spare
	lost := q.lost
	q.mu.Unlock()
	if len(items) > 0 {
		q.took()
	}
	return items, lost
}

// Drain yields what is queued until yield returns false, ctx ends or the
// reader is lost; then it yields the error that says so, naming the
// stream (what) and its items (noun, plural): "tail: the reader took
// nothing for 2s with 16384 frames waiting".
func (q *Queue[T]) Drain(ctx context.Context, what, noun string, yield func(T, error) bool) {
	var spare []T
	for {
		batch, lost := q.Take(spare)
		for i, it := range batch {
			if !yield(it, nil) {
				return
			}
			// A batch is up to a whole backlog: while the reader works
			// through it, a producer waiting for space hears that the
			// reader takes items (the stall is a reader taking none).
			if (i+1)%q.tookEvery == 0 {
				q.took()
			}
		}
		if lost {
			var zero T
			yield(zero, fmt.Errorf("%s: the reader took nothing for %v with %d %s waiting", what, q.stall, q.backlog, noun))
			return
		}
		clear(batch) // what the items point to is not kept
		spare = batch[:0]
		if len(batch) > 0 {
			continue
		}
		select {
		case <-q.signal:
		case <-ctx.Done():
			return
		}
	}
}

// Signal receives a value when items were queued since the last receive:
// for a reader that takes with Take instead of Drain.
func (q *Queue[T]) Signal() <-chan struct{} { return q.signal }
