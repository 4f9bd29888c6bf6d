package ecuwatchdog

import (
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
)

// FuzzNew feeds arguments as JSON, as spawn decodes them, to New: an error
// matching ErrInvalidArgs or normalized arguments, never a panic.
func FuzzNew(f *testing.F) {
	f.Add(`{"probe": "session", "period_ms": 100, "tx_id": "7E0"}`)
	f.Add(`{"doip_address": "127.0.0.1:13400", "target_address": 4097, "crash_after": 1}`)
	f.Add(`{"period_ms": 10, "timeout_ms": 20, "black_box": 1}`)
	f.Fuzz(func(t *testing.T, in string) {
		var a Args
		if json.Unmarshal([]byte(in), &a) != nil {
			return
		}
		s, err := newService(a, slog.New(slog.DiscardHandler))
		if err != nil {
			if !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("error %v does not match ErrInvalidArgs", err)
			}
			return
		}
		g := s.args
		if g.PeriodMS <= 0 || g.TimeoutMS <= 0 || g.TimeoutMS > g.PeriodMS || g.CrashAfter <= 0 ||
			(g.DoIPAddress == "") != (s.box != nil) {
			t.Fatalf("args %+v", g)
		}
	})
}
