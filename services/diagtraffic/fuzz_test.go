package diagtraffic

import (
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
)

// FuzzNew feeds arguments as JSON, as spawn decodes them, to New: an error
// matching ErrInvalidArgs or a service with a decoded script, never a
// panic.
func FuzzNew(f *testing.F) {
	f.Add(`{"requests": [{"data": "22 F1 90", "period_ms": 10, "expect": "62 F1 90", "count": 3}]}`)
	f.Add(`{"doip_address": "127.0.0.1:13400", "target_address": "0x1001", "requests": [{"data": "0x3E00", "period_ms": 1}]}`)
	f.Add(`{"tx_id": "18DA10F1", "extended": true, "requests": [{"name": "a", "data": "10 03", "period_ms": 5}, {"name": "a", "data": "11 01", "period_ms": 5}]}`)
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
		if len(s.script) == 0 || len(s.script) != len(s.stats) {
			t.Fatalf("script %d, stats %d", len(s.script), len(s.stats))
		}
		for _, r := range s.script {
			if len(r.data) == 0 || r.period <= 0 {
				t.Fatalf("request %+v", r)
			}
		}
	})
}
