package testerpresent

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
)

// FuzzArgs decodes arguments as the kit does (strict JSON) and checks that
// New either refuses them with ErrInvalidArgs or returns a service whose
// settings are in range; it never panics.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"bus": "virtual:bus0", "interval_ms": 10, "suppress_response": false}`,
		`{"tx_id": 2016, "rx_id": 2024, "padding": false}`,
		`{"tx_id": 417018865, "rx_id": 417001744, "extended": true, "pad_byte": 85}`,
		`{"doip_address": "127.0.0.1:13400", "target_address": 4097}`,
		`{"doip_address": "[::1]:13400", "target_address": 1, "source_address": 3584}`,
		`{"interval_ms": -1}`,
		`{"padding": false, "pad_byte": 0}`,
		`{"bus": "socketcan:"}`,
	} {
		f.Add([]byte(s))
	}
	quiet := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Args
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if dec.Decode(&a) != nil {
			return
		}
		s, err := newService(a, quiet, systemClock)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("New(%s): error %v does not wrap ErrInvalidArgs", data, err)
			}
			return
		}
		g := s.args
		switch {
		case g.IntervalMS < MinIntervalMS || g.IntervalMS > MaxIntervalMS:
			t.Fatalf("interval %d", g.IntervalMS)
		case g.P2MS <= 0:
			t.Fatalf("p2 %d", g.P2MS)
		case g.SuppressResponse == nil:
			t.Fatal("suppress_response not defaulted")
		case g.DoIPAddress != "" && (g.TargetAddress == 0 || g.SourceAddress == 0):
			t.Fatalf("doip addresses %#x %#x", g.SourceAddress, g.TargetAddress)
		case g.DoIPAddress == "" && (g.Padding == nil || g.TxID == g.RxID || g.TxID == 0 || g.RxID == 0):
			t.Fatalf("can settings %+v", g)
		case g.DoIPAddress == "" && *g.Padding != (g.PadByte != nil):
			t.Fatalf("padding %v with pad byte %v", *g.Padding, g.PadByte)
		}
	})
}
