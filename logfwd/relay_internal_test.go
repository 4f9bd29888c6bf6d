package logfwd

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestRelayMarkersKeepTheByteBound: the end-of-log marker always finds a
// slot, but a "marker" with a body (the real one has none: only a hostile
// publisher sends one) is bounded like a record, so that a flood of them
// cannot fill memory past QueueBytes.
func TestRelayMarkersKeepTheByteBound(t *testing.T) {
	r := bareRelay(t, RelayOptions{QueueRecords: 10, QueueBytes: 4096})
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
	r := bareRelay(t, RelayOptions{QueueRecords: 1000, QueueBytes: 64 << 10, NoAck: true})
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

// TestRelayPastBoundsGivesUpEveryGap: once what a relay holds after gaps
// passes its bounds, it stops waiting for every missing record at once —
// all it holds is queued in order and the missing ones counted lost —
// rather than one gap per record that arrives (which, with a gap between
// every two records, cost a scan of all it held for each).
func TestRelayPastBoundsGivesUpEveryGap(t *testing.T) {
	const q = 100
	r := bareRelay(t, RelayOptions{QueueRecords: q, QueueBytes: 1 << 20, NoAck: true})
	for i := 1; i <= q+1; i++ { // 2, 4, …: a gap before each
		seq := 2 * i
		r.onMsg(&nats.Msg{Subject: "log.X", Reply: fmt.Sprintf("_INBOX.x.%d", seq), Data: []byte(`{"msg":"r"}`)})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var prev uint64
	lost := r.pendingLost
	for _, it := range r.q {
		if it.seq <= prev {
			t.Fatalf("queued out of order: %d after %d", it.seq, prev)
		}
		prev, lost = it.seq, lost+it.lost
	}
	// The queue holds QueueRecords too: what does not fit is dropped,
	// counted.
	if len(r.held) != 0 || len(r.q)+int(r.pendingDrop) != q+1 || lost != q+1 || r.next != 2*(q+1)+1 {
		t.Fatalf("held %d, queued %d + dropped %d, lost %d, next %d; want 0, %d in all, %d, %d",
			len(r.held), len(r.q), r.pendingDrop, lost, r.next, q+1, q+1, 2*(q+1)+1)
	}
}

// BenchmarkRelayAlternatingGaps: a record with a gap before each, past
// the relay's bounds (what a hostile child can send): ns per record.
func BenchmarkRelayAlternatingGaps(b *testing.B) {
	r := bareRelay(b, RelayOptions{QueueRecords: DefaultQueueRecords, QueueBytes: DefaultQueueBytes, NoAck: true})
	data := []byte(`{"msg":"r"}`)
	seq := uint64(0)
	for b.Loop() {
		seq += 2
		r.onMsg(&nats.Msg{Subject: "log.X", Reply: "_INBOX.x." + strconv.FormatUint(seq, 10), Data: data})
		if r.qlen.Load() > DefaultQueueRecords/2 { // the worker's part: empty the queue
			r.take(nil)
			r.qlen.Store(0)
			r.qbytes.Store(0)
		}
	}
}

// bareRelay is a Relay without a connection or worker, to drive its
// ordering and queue directly (with NoAck it publishes nothing).
func bareRelay(tb testing.TB, opts RelayOptions) *Relay {
	r := &Relay{opts: opts, ready: make(chan struct{}, 1), held: map[uint64]*nats.Msg{}, next: 1}
	tb.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.gapTimer != nil {
			r.gapTimer.Stop()
		}
	})
	return r
}

// TestRelayFromInbox: the relay's quick check of a record's reply subject
// (its publisher's inbox and a number) accepts exactly what bus.IsInbox
// does.
func TestRelayFromInbox(t *testing.T) {
	r := bareRelay(t, RelayOptions{})
	r.inbox = "_INBOX.bgkit_X.AbCd"
	for reply, want := range map[string]bool{
		r.inbox + ".1":      true,
		r.inbox + ".123456": true,
		r.inbox + ".12a":    true, // not a number, still one inbox subject
		r.inbox + ".*":      false,
		r.inbox + ".>":      false,
		r.inbox + ".1 2":    false,
		r.inbox + ".":       false,
		r.inbox + "..1":     false,
		r.inbox:             true,
		"svc.X.m":           false,
		"_INBOX.other.7":    true,
	} {
		if got := r.fromInbox(reply); got != want {
			t.Errorf("fromInbox(%q) = %v, want %v", reply, got, want)
		}
	}
}
