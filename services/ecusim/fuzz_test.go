package ecusim

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/uds"
)

// FuzzHandle feeds requests from the network to the ECU: it never panics,
// and answers with nothing, a negative response to the request's service
// or a positive response to it.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		"1003", "1083", "1004", "3E80", "3E00", "22F190", "22F1900102", "2EF19000", "2E0102AABB",
		"1101", "2701", "2702BB99FF99", "27", "", "BA", "85", "22", "2E",
	} {
		f.Add(unhex(f, s), false)
	}
	f.Add([]byte{0x10, 0x03}, true)
	e := newTestECU(f, Args{Seed: "11223344", S3Ms: 1, SecurityDelayMs: 1, DIDs: map[hexid.ID]string{0x0102: "AABB"}}, nil)
	f.Fuzz(func(t *testing.T, req []byte, functional bool) {
		resp, ok := e.handle(context.Background(), req, functional)
		if !ok {
			if len(resp) != 0 {
				t.Fatalf("% X: no response but % X", req, resp)
			}
			return
		}
		var sid byte
		if len(req) > 0 {
			sid = req[0]
		}
		switch {
		case len(resp) == 3 && resp[0] == uds.NegativeResponseSID:
			if resp[1] != sid {
				t.Fatalf("% X → % X: negative response for another service", req, resp)
			}
		case len(resp) > 0 && resp[0] == uds.SID(sid).Response():
		default:
			t.Fatalf("% X → % X", req, resp)
		}
	})
}

// FuzzNew feeds arguments as JSON, as spawn decodes them, to New: an
// error or a service, never a panic.
func FuzzNew(f *testing.F) {
	f.Add(`{"dids": {"F190": "0102"}, "seed": "11223344", "key_xor": "AABBCCDD"}`)
	f.Add(`{"dids": {"0x12": "0x 01"}, "rx_id": "7E0", "tx_id": 2024, "logical_address": "0x1001"}`)
	f.Add(`{"func_id": "0x18DB33F1", "extended": true}`)
	f.Fuzz(func(t *testing.T, in string) {
		var a Args
		if json.Unmarshal([]byte(in), &a) != nil {
			return
		}
		s, err := newService(a, slog.New(slog.DiscardHandler))
		if err == nil {
			s.ecu.close()
		} else if !errors.Is(err, ErrInvalidArgs) {
			t.Fatalf("error %v does not match ErrInvalidArgs", err)
		}
	})
}
