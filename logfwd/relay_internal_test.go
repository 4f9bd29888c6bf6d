package logfwd

import (
	"bytes"
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
