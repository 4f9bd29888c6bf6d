package cli

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/logfwd"
)

func TestLogRing(t *testing.T) {
	r := newLogRing()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	put := func(subject string, i int) {
		r.add(&nats.Msg{Subject: subject, Data: fmt.Appendf(nil, `{"msg":"%d"}`, i), Header: nats.Header{logfwd.SeqHeader: {fmt.Sprint(i)}}})
	}
	for i := 1; i <= ringRecords+5; i++ {
		now = now.Add(time.Second)
		put("log.A", i)
		if i%100 == 0 {
			put("log.B", i)
		}
	}
	r.add(&nats.Msg{Subject: "log.A", Header: nats.Header{logfwd.EOFHeader: {"1"}}})
	msgs := func(es []ringEntry) string {
		var s []string
		for _, e := range es {
			s = append(s, strings.TrimPrefix(e.subject, "log.")+":"+e.seq)
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		name string
		req  recentRequest
		want string
	}{
		{"last 2 of each", recentRequest{N: 2}, "B:900 B:1000 A:1004 A:1005"},
		{"one service", recentRequest{Service: "B", N: 3}, "B:800 B:900 B:1000"},
		{"none", recentRequest{N: 0}, ""},
		{"since", recentRequest{N: -1, Since: "3s"}, "A:1002 A:1003 A:1004 A:1005"},
		{"since and n", recentRequest{N: 1, Since: "1h"}, "B:1000 A:1005"},
		{"unknown service", recentRequest{Service: "C", N: 5}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := msgs(r.recent(tc.req)); got != tc.want {
				t.Fatalf("recent(%+v) = %q, want %q", tc.req, got, tc.want)
			}
		})
	}
	// The ring of A holds the last ringRecords records, the oldest dropped.
	all := r.recent(recentRequest{Service: "A", N: -1})
	if len(all) != ringRecords || all[0].seq != "6" {
		t.Fatalf("ring of A: %d records from %s; want %d from 6", len(all), all[0].seq, ringRecords)
	}
	// And at most ringBytes of them.
	big := bytes.Repeat([]byte("x"), ringBytes/3)
	for range 5 {
		r.add(&nats.Msg{Subject: "log.BIG", Data: big})
	}
	if got := len(r.recent(recentRequest{Service: "BIG", N: -1})); got != 3 {
		t.Fatalf("ring of BIG holds %d records of %d bytes, want 3 (bound %d bytes)", got, len(big), ringBytes)
	}
}

// TestLogLines: the CLI's log lines show durations as durations and leave
// out attributes that say nothing.
func TestLogLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs []any
		want  string
	}{
		{"duration", []any{"s3", 5 * time.Second}, "s3=5s"},
		{"small duration", []any{"p2", 1500 * time.Microsecond}, "p2=1.5ms"},
		{"empty string", []any{"doip_address", "", "bus", "virtual:bus0"}, "bus=virtual:bus0"},
		{"nil error", []any{"err", error(nil), "n", 0}, "n=0"},
		{"in a group", []any{slog.Group("g", "d", time.Minute, "e", "")}, "g.d=1m0s"},
		{"false and zero stay", []any{"ok", false, "n", 0}, "ok=false n=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			newLogger(&buf, slog.LevelInfo, false).Info("m", tc.attrs...)
			line := strings.TrimSpace(buf.String())
			if _, got, _ := strings.Cut(line, "msg=m "); got != tc.want {
				t.Fatalf("line %q, want attributes %q", line, tc.want)
			}
		})
	}
}
