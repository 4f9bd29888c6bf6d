// Package backlog is the bounded queue between a producer that must never
// wait and one stream's reader: a monitor's signal changes for a watch.
//
// A queue holds what its reader has not taken yet, those items queued and
// those the reader is working through, at most its backlog. The producer
// never waits for the reader: with the reader a backlog behind, the queue
// takes nothing more, and its stream ends with an error once the reader
// has taken every item the queue held, so that no item is lost silently.
// A reader slower than the producer but within the backlog gets every
// item, in order.
//
// Items are queued in blocks of 32 KiB (a size class of the allocator,
// so that a block wastes less than an item): memory follows the backlog
// block by block, nothing is copied as it grows, and a steady stream
// allocates nothing.
package backlog

import (
	"context"
	"sync"
	"unsafe"
)

const (
	blockBytes = 32 << 10 // the size of the blocks items are queued in
	chunkLen   = 64       // how many items Drain takes at a time
)

// Queue is one reader's queue of items of type T.
type Queue[T any] struct {
	backlog  int
	blockLen int           // items a block holds
	signal   chan struct{} // items were queued in an empty queue, or the reader fell behind

	mu     sync.Mutex
	blocks [][]T // the items queued, oldest first
	head   int   // index in blocks[0] of the oldest item
	n      int   // items queued
	taken  int   // items of the reader's last Take, still held
	spare  []T   // a block to queue in next
	behind bool  // the reader fell a backlog behind: nothing more is queued
}

// New returns a queue that holds at most backlog items.
func New[T any](backlog int) *Queue[T] {
	var zero T
	return &Queue[T]{backlog: max(1, backlog), blockLen: max(1, blockBytes/max(1, int(unsafe.Sizeof(zero)))),
		signal: make(chan struct{}, 1)}
}

// Seed queues items whatever the backlog: the values known when a stream
// opens, before its reader starts. They count against the backlog.
func (q *Queue[T]) Seed(items []T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range items {
		q.put(&items[i])
	}
}

// Push queues items in order. It never waits: the first item that would
// put the reader more than the backlog behind, and all after it, are not
// queued, and the reader gets an error once it has taken the items held.
// It reports whether every item was queued.
func (q *Queue[T]) Push(items ...T) bool {
	if len(items) == 0 {
		return !q.Behind()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range items {
		if q.behind {
			return false
		}
		if q.n+q.taken >= q.backlog {
			q.behind = true
			q.notify()
			return false
		}
		q.put(&items[i])
	}
	return true
}

// Behind reports whether the reader fell a backlog behind.
func (q *Queue[T]) Behind() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.behind
}

// put queues *it. q.mu must be held.
func (q *Queue[T]) put(it *T) {
	at := q.head + q.n
	if at == len(q.blocks)*q.blockLen {
		blk := q.spare
		if blk == nil {
			blk = make([]T, q.blockLen)
		}
		q.spare = nil
		q.blocks = append(q.blocks, blk)
	}
	q.blocks[at/q.blockLen][at%q.blockLen] = *it
	if q.n++; q.n == 1 {
		q.notify()
	}
}

// notify wakes the reader waiting for items. q.mu must be held.
func (q *Queue[T]) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// Take moves the oldest queued items to dst and returns how many, and
// whether the reader fell behind. Those moved count against the backlog
// until the next Take: the reader is working through them.
func (q *Queue[T]) Take(dst []T) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for n < len(dst) && q.n > 0 {
		blk := q.blocks[0]
		end := min(q.blockLen, q.head+q.n)
		k := copy(dst[n:], blk[q.head:end])
		clear(blk[q.head : q.head+k]) // what the items point to is not kept
		n += k
		q.n -= k
		q.head += k
		if q.head == q.blockLen || q.n == 0 {
			// The block is done with: keep it as the spare.
			q.head = 0
			copy(q.blocks, q.blocks[1:])
			q.blocks[len(q.blocks)-1] = nil
			q.blocks = q.blocks[:len(q.blocks)-1]
			q.spare = blk
		}
	}
	q.taken = n
	return n, q.behind
}

// Signal receives a value when items were queued in an empty queue, or
// the reader fell behind, since the last receive: for a reader that takes
// with Take instead of Drain.
func (q *Queue[T]) Signal() <-chan struct{} { return q.signal }

// Drain yields the items queued, as they come, until yield returns false
// or ctx ends; a reader that fell behind gets every item the queue held,
// then errBehind, and Drain returns.
func (q *Queue[T]) Drain(ctx context.Context, errBehind error, yield func(T, error) bool) {
	var chunk [chunkLen]T
	for {
		n, behind := q.Take(chunk[:])
		for i := range n {
			if !yield(chunk[i], nil) {
				return
			}
		}
		if n > 0 {
			continue
		}
		if behind {
			var zero T
			yield(zero, errBehind)
			return
		}
		select {
		case <-q.signal:
		case <-ctx.Done():
			return
		}
	}
}
