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
