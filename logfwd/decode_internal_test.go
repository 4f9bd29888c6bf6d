package logfwd

import (
	"testing"
	"time"
)

// FuzzParseTime: the fast path reads a time as time.Parse does.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123456789Z", "2026-02-31T10:00:00Z",
		"2026-11-25T10:00:00.5+01:00", "2026-11-25T10:00:00-07:30", "2026-11-25T10:00:00.1234567891Z", "2026-11-25T24:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := time.Parse(time.RFC3339Nano, s)
		got, ok := parseTime([]byte(s))
		if ok != (werr == nil) || ok && !got.Equal(want) {
			t.Fatalf("parseTime(%q) = %v, %v; time.Parse = %v, %v", s, got, ok, want, werr)
		}
		if _, off := got.Zone(); ok {
			if _, woff := want.Zone(); off != woff {
				t.Fatalf("parseTime(%q) offset %d, time.Parse %d", s, off, woff)
			}
		}
	})
}
