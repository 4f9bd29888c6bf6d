package logfwd

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestRelayMarkersKeepTheByteBound: the end-of-log marker always finds a
// slot, but a "marker" with a body (the real one has none: only a hostile
// publisher sends one) is bounded like a record, so that a flood of them
// cannot fill memory past QueueBytes.
func TestRelayMarkersKeepTheByteBound(t *testing.T) {
	r := &Relay{opts: RelayOptions{QueueRecords: 10, QueueBytes: 4096}, ready: make(chan struct{}, 1), held: map[uint64]*nats.Msg{}}
	body := bytes.Repeat([]byte("x"), 900)
	r.mu.Lock()
	for range 50 {
		m := nats.NewMsg("log.X")
		m.Header.Set(EOFHeader, "1")
		m.Data = body
		r.enqueue(m, 0)
	}
	r.mu.Unlock()
	if b := r.qbytes.Load(); b > int64(r.opts.QueueBytes) {
		t.Fatalf("%d bytes queued (%d markers with a body), bound %d", b, r.qlen.Load(), r.opts.QueueBytes)
	}
	// The real marker still fits a full queue.
	r.mu.Lock()
	m := nats.NewMsg("log.X")
	m.Header.Set(EOFHeader, "1")
	for range 20 {
		r.enqueue(&nats.Msg{Subject: "log.X", Data: []byte(`{"msg":"r"}`)}, 0)
	}
	before := r.qlen.Load()
	r.enqueue(m, 0)
	r.mu.Unlock()
	if r.qlen.Load() != before+1 {
		t.Fatalf("the end-of-log marker found no slot in a queue of %d", before)
	}
}

// TestRelayHeldAfterGapBounded: the records held after a gap, waiting
// for the missing ones, are bounded in bytes as the queue is — a child
// that skips a sequence number and then sends large records must not
// make its parent hold them all for the gap's wait.
func TestRelayHeldAfterGapBounded(t *testing.T) {
	r := &Relay{opts: RelayOptions{QueueRecords: 1000, QueueBytes: 64 << 10, NoAck: true},
		ready: make(chan struct{}, 1), held: map[uint64]*nats.Msg{}, next: 1}
	defer func() {
		if r.gapTimer != nil {
			r.gapTimer.Stop()
		}
	}()
	big := bytes.Repeat([]byte("x"), 4<<10)
	most := 0
	for seq := 2; seq <= 300; seq++ { // 1 never comes
		r.onMsg(&nats.Msg{Subject: "log.X", Reply: fmt.Sprintf("_INBOX.x.%d", seq), Data: big})
		r.mu.Lock()
		held := 0
		for _, m := range r.held {
			held += len(m.Data)
		}
		r.mu.Unlock()
		most = max(most, held)
	}
	if limit := r.opts.QueueBytes + len(big); most > limit {
		t.Fatalf("held up to %d bytes after the gap, want at most %d", most, limit)
	}
}
