package logfwd

import (
	"fmt"
	"testing"
)

// TestResendWindowGrows: the window starts small, doubles up to
// resendRecords keeping the records in order (also when the oldest is not
// at index 0), and then drops the oldest.
func TestResendWindowGrows(t *testing.T) {
	p := &publisher{}
	p.keep(1, []byte("r1"))
	if len(p.ring) != 64 {
		t.Fatalf("first window holds %d records, want 64", len(p.ring))
	}
	// Wrapped: the oldest at index 2 of a full ring of 4.
	p = &publisher{ring: make([]sent, 4), head: 2, n: 4}
	for i, seq := range []uint64{13, 14, 11, 12} {
		p.ring[i] = sent{seq: seq, data: fmt.Appendf(nil, "r%d", seq)}
	}
	p.keep(15, []byte("r15"))
	if len(p.ring) != 64 || p.n != 5 {
		t.Fatalf("after growing: %d slots, %d records; want 64 and 5", len(p.ring), p.n)
	}
	for i := range p.n {
		r := p.ring[(p.head+i)%len(p.ring)]
		if want := uint64(11 + i); r.seq != want || string(r.data) != fmt.Sprintf("r%d", want) {
			t.Fatalf("record %d = %d %q, want %d", i, r.seq, r.data, want)
		}
	}
	p = &publisher{}
	for seq := uint64(1); seq <= resendRecords+10; seq++ {
		p.keep(seq, nil)
	}
	if len(p.ring) != resendRecords || p.n != resendRecords || p.ring[p.head].seq != 11 {
		t.Fatalf("full window: %d slots, %d records, oldest %d; want %d, %d, 11",
			len(p.ring), p.n, p.ring[p.head].seq, resendRecords, resendRecords)
	}
}

// TestMarkerAloneMakesNoTotals: a publisher that counted no byte (a child
// that logged nothing, then its 0-byte end-of-log marker) has no table of
// running totals; the first record with bytes makes it, with the totals
// of the records before it (0) and its own, and the window reads them.
func TestMarkerAloneMakesNoTotals(t *testing.T) {
	p := &publisher{}
	p.seq = 1
	p.count(0)
	if p.cum.Load() != nil {
		t.Fatal("a 0-byte record made the table of totals")
	}
	if !p.within(1) {
		t.Fatal("not within the window with nothing published")
	}
	p.seq = 2
	p.count(100)
	c := p.cum.Load()
	if c == nil {
		t.Fatal("no table of totals after a record of 100 bytes")
	}
	if c[1].Load() != 0 || c[2].Load() != 100 {
		t.Fatalf("totals %d, %d; want 0, 100", c[1].Load(), c[2].Load())
	}
	p.pubSeq.Store(2)
	p.pubBytes.Store(WindowBytes + 50) // as if record 3 were that large
	if p.within(1) {
		t.Fatal("within the window though WindowBytes past record 1")
	}
	if !p.within(2) {
		t.Fatal("not within the window though less than WindowBytes past record 2")
	}
}
