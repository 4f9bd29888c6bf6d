package dbc_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bgkit/bgkit/can/dbc"
)

// FuzzBits checks the bit codec on its own: writing a raw value and
// reading it back gives the value (cut to the signal's width), and no bit
// outside the signal changes.
func FuzzBits(f *testing.F) {
	f.Add(uint8(0), uint8(12), true, uint64(0x37), []byte{0xAA, 0x55, 0xAA})
	f.Add(uint8(7), uint8(64), true, uint64(math.MaxUint64), make([]byte, 9))
	f.Add(uint8(500%256), uint8(12), false, uint64(0xABC), make([]byte, 64))
	f.Add(uint8(3), uint8(1), false, uint64(1), []byte{0})
	f.Fuzz(func(t *testing.T, start, size uint8, bigEndian bool, raw uint64, data []byte) {
		if len(data) > 64 || size == 0 || size > 64 {
			return
		}
		s := &dbc.Signal{Name: "S", Start: int(start), Size: int(size), BigEndian: bigEndian, Scale: 1}
		ones := make([]byte, len(data))
		for i := range ones {
			ones[i] = 0xFF
		}
		// The signal's bits: those that clearing the signal in an all-ones
		// payload turns to 0.
		if !fitsIn(s, len(data)) {
			return
		}
		s.SetRaw(ones, 0)
		before := append([]byte(nil), data...)
		s.SetRaw(data, raw)
		mask := uint64(math.MaxUint64)
		if size < 64 {
			mask = 1<<size - 1
		}
		if got := s.Raw(data); got != raw&mask {
			t.Fatalf("Raw = %#x after SetRaw(%#x)", got, raw&mask)
		}
		for i := range data {
			if (data[i]^before[i])&ones[i] != 0 {
				t.Fatalf("byte %d: bits outside the signal changed: %08b -> %08b (signal %08b)", i, before[i], data[i], ^ones[i])
			}
		}
	})
}

// fitsIn reports whether s lies in n bytes, computed independently of the
// package: the signal's bits, walked one by one.
func fitsIn(s *dbc.Signal, n int) bool {
	bit := s.Start
	for range s.Size {
		if bit < 0 || bit/8 >= n {
			return false
		}
		if s.BigEndian {
			if bit%8 == 0 {
				bit += 15
			} else {
				bit--
			}
		} else {
			bit++
		}
	}
	return true
}

// FuzzParseRoundTrip parses arbitrary text (it must never panic) and, for
// a DBC it accepts, decodes a payload, encodes the values again and
// checks that decoding gives them back.
func FuzzParseRoundTrip(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.dbc"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{0xc0, 0x06, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	}
	f.Fuzz(func(t *testing.T, text, payload []byte) {
		db, err := dbc.Parse("fuzz.dbc", text)
		if err != nil {
			return
		}
		for _, m := range db.Messages {
			data := make([]byte, m.FrameLen())
			copy(data, payload)
			v := m.Decode(data)
			f, err := m.Encode(v)
			if err != nil {
				continue // a raw value outside [Min, Max]
			}
			w := m.Decode(f.Payload())
			for k, x := range v {
				y := w[k]
				if x != y && !(math.IsNaN(x) && math.IsNaN(y)) && math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
					t.Fatalf("%s.%s: %v -> %v", m.Name, k, x, y)
				}
			}
		}
	})
}
