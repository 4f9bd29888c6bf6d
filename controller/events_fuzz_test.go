package controller

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/service"
)

// FuzzEventDecode: whatever arrives on evt.>, decoding it never panics and
// the sequence bookkeeping stays consistent.
func FuzzEventDecode(f *testing.F) {
	f.Add("evt.X.tick", "1", "src", "1700000000000000000", []byte(`{"i":1}`))
	f.Add("evt.X", "", "", "", []byte(nil))
	f.Add("evt..", "18446744073709551615", "", "-1", []byte("x"))
	f.Add("log.X", "2", "a", "zz", []byte("{}"))
	f.Fuzz(func(t *testing.T, subject, seq, source, at string, data []byte) {
		s := &Subscription{last: map[seqKey]uint64{}}
		m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		m.Header.Set(service.EventSeqHeader, seq)
		m.Header.Set(service.EventSourceHeader, source)
		m.Header.Set(service.EventTimeHeader, at)
		for range 2 {
			e, ok := s.event(m)
			if ok && e.Missed != 0 {
				t.Fatalf("the same event twice reports %d missed", e.Missed)
			}
		}
	})
}

// FuzzSplit: a batch of any bytes splits into non-empty lines.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("1\n2\n3\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, it := range split(data) {
			if len(it) == 0 {
				t.Fatal("an empty item")
			}
		}
	})
}
