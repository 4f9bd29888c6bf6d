package isotp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDecodePDU(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    PDU
		wantErr error
	}{
		{"SF tester present", "02 3E 80 CC CC CC CC CC", PDU{Type: SingleFrame, Data: []byte{0x3E, 0x80}}, nil},
		{"SF 7 bytes", "07 01 02 03 04 05 06 07", PDU{Type: SingleFrame, Data: []byte{1, 2, 3, 4, 5, 6, 7}}, nil},
		{"SF escape", "00 03 01 02 03", PDU{Type: SingleFrame, Escape: true, Data: []byte{1, 2, 3}}, nil},
		{"SF escape 62", "00 3E" + strings.Repeat(" AA", 62), PDU{Type: SingleFrame, Escape: true, Data: bytes.Repeat([]byte{0xAA}, 62)}, nil},
		{"SF_DL 8", "08 01 02 03 04 05 06 07 08", PDU{}, ErrWrongLength},
		{"SF escape length 0", "00 00 01", PDU{}, ErrWrongLength},
		{"SF escape no length", "00", PDU{}, ErrTruncated},
		{"SF short", "05 01 02", PDU{}, ErrTruncated},
		{"SF escape short", "00 09 01 02", PDU{}, ErrTruncated},
		{"FF 20", "10 14 01 02 03 04 05 06", PDU{Type: FirstFrame, Length: 20, Data: []byte{1, 2, 3, 4, 5, 6}}, nil},
		{"FF 4095", "1F FF 01 02 03 04 05 06", PDU{Type: FirstFrame, Length: 4095, Data: []byte{1, 2, 3, 4, 5, 6}}, nil},
		{"FF 32-bit", "10 00 00 01 86 A0 01 02", PDU{Type: FirstFrame, Escape: true, Length: 100000, Data: []byte{1, 2}}, nil},
		{"FF 32-bit small", "10 00 00 00 00 08 01 02", PDU{Type: FirstFrame, Escape: true, Length: 8, Data: []byte{1, 2}}, nil},
		{"FF no length", "10", PDU{}, ErrTruncated},
		{"FF no data", "10 14", PDU{}, ErrTruncated},
		{"FF 32-bit short", "10 00 00 01 86", PDU{}, ErrTruncated},
		{"FF 32-bit zero", "10 00 00 00 00 00 01", PDU{}, ErrWrongLength},
		{"FF fits", "10 06 01 02 03 04 05 06", PDU{}, ErrWrongLength},
		{"CF", "21 01 02 03 04 05 06 07", PDU{Type: ConsecutiveFrame, SeqNum: 1, Data: []byte{1, 2, 3, 4, 5, 6, 7}}, nil},
		{"CF 0", "20 AA", PDU{Type: ConsecutiveFrame, SeqNum: 0, Data: []byte{0xAA}}, nil},
		{"CF 15", "2F AA", PDU{Type: ConsecutiveFrame, SeqNum: 15, Data: []byte{0xAA}}, nil},
		{"CF empty", "21", PDU{}, ErrTruncated},
		{"FC CTS", "30 00 00 CC CC", PDU{Type: FlowControl}, nil},
		{"FC WAIT", "31 08 F5", PDU{Type: FlowControl, Status: FlowWait, BlockSize: 8, STmin: 0xF5}, nil},
		{"FC OVFLW", "32 00 7F", PDU{Type: FlowControl, Status: FlowOverflow, STmin: 0x7F}, nil},
		{"FC invalid FS", "33 00 00", PDU{}, ErrInvalidFlowStatus},
		{"FC short", "30 00", PDU{}, ErrTruncated},
		{"empty", "", PDU{}, ErrTruncated},
		{"unknown type", "40 00 00", PDU{}, ErrUnknownPDU},
		{"too long", "21" + strings.Repeat(" 00", 64), PDU{}, ErrWrongLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePDU(unhex(t, tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodePDU: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodePDU: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodePDU = %#v, want %#v", got, tt.want)
			}
			var u PDU
			if err := u.UnmarshalBinary(unhex(t, tt.in)); err != nil || !reflect.DeepEqual(u, tt.want) {
				t.Fatalf("UnmarshalBinary = %#v, %v", u, err)
			}
		})
	}
}

func TestEncodePDU(t *testing.T) {
	tests := []struct {
		name    string
		p       PDU
		want    string
		wantErr error
	}{
		{"SF", PDU{Type: SingleFrame, Data: []byte{0x3E, 0x80}}, "023e80", nil},
		{"SF 8 escapes", PDU{Type: SingleFrame, Data: make([]byte, 8)}, "00080000000000000000", nil},
		{"SF forced escape", PDU{Type: SingleFrame, Escape: true, Data: []byte{1}}, "000101", nil},
		{"SF empty", PDU{Type: SingleFrame}, "", ErrWrongLength},
		{"SF 63", PDU{Type: SingleFrame, Data: make([]byte, 63)}, "", ErrWrongLength},
		{"FF", PDU{Type: FirstFrame, Length: 20, Data: []byte{1, 2, 3, 4, 5, 6}}, "1014010203040506", nil},
		{"FF 4096 escapes", PDU{Type: FirstFrame, Length: 4096, Data: []byte{1, 2}}, "10000000100001 02", nil},
		{"FF length not above data", PDU{Type: FirstFrame, Length: 2, Data: []byte{1, 2}}, "", ErrWrongLength},
		{"FF no data", PDU{Type: FirstFrame, Length: 20}, "", ErrWrongLength},
		{"FF too long", PDU{Type: FirstFrame, Length: 200, Data: make([]byte, 63)}, "", ErrWrongLength},
		{"CF", PDU{Type: ConsecutiveFrame, SeqNum: 15, Data: []byte{9}}, "2f09", nil},
		{"CF sequence 16", PDU{Type: ConsecutiveFrame, SeqNum: 16, Data: []byte{9}}, "", ErrWrongSequence},
		{"CF empty", PDU{Type: ConsecutiveFrame, SeqNum: 1}, "", ErrWrongLength},
		{"CF too long", PDU{Type: ConsecutiveFrame, SeqNum: 1, Data: make([]byte, 64)}, "", ErrWrongLength},
		{"FC", PDU{Type: FlowControl, Status: FlowWait, BlockSize: 8, STmin: 0xF5}, "3108f5", nil},
		{"FC invalid", PDU{Type: FlowControl, Status: 3}, "", ErrInvalidFlowStatus},
		{"unknown type", PDU{Type: 4}, "", ErrUnknownPDU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.p.MarshalBinary()
			if verr := tt.p.Validate(); !errors.Is(verr, tt.wantErr) && (verr != nil || tt.wantErr != nil) {
				t.Errorf("Validate: %v, want %v", verr, tt.wantErr)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("MarshalBinary: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if want := strings.ReplaceAll(tt.want, " ", ""); hex.EncodeToString(b) != want {
				t.Fatalf("MarshalBinary = %x, want %s", b, want)
			}
		})
	}
}

func TestSTmin(t *testing.T) {
	tests := []struct {
		b    STmin
		want time.Duration
	}{
		{0x00, 0},
		{0x01, time.Millisecond},
		{0x7F, 127 * time.Millisecond},
		{0x80, 127 * time.Millisecond},
		{0xF0, 127 * time.Millisecond},
		{0xF1, 100 * time.Microsecond},
		{0xF5, 500 * time.Microsecond},
		{0xF9, 900 * time.Microsecond},
		{0xFA, 127 * time.Millisecond},
		{0xFF, 127 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%#02x", uint8(tt.b)), func(t *testing.T) {
			if got := tt.b.Duration(); got != tt.want {
				t.Errorf("Duration = %v, want %v", got, tt.want)
			}
		})
	}
	from := []struct {
		d    time.Duration
		want STmin
	}{
		{-time.Second, 0},
		{0, 0},
		{1, 0xF1},
		{100 * time.Microsecond, 0xF1},
		{101 * time.Microsecond, 0xF2},
		{500 * time.Microsecond, 0xF5},
		{900 * time.Microsecond, 0xF9},
		{901 * time.Microsecond, 0x01},
		{time.Millisecond, 0x01},
		{1500 * time.Microsecond, 0x02},
		{127 * time.Millisecond, 0x7F},
		{time.Second, 0x7F},
	}
	for _, tt := range from {
		t.Run(tt.d.String(), func(t *testing.T) {
			got := STminFromDuration(tt.d)
			if got != tt.want {
				t.Errorf("STminFromDuration = %#02x, want %#02x", uint8(got), uint8(tt.want))
			}
			if tt.d > 0 && got.Duration() < min(tt.d, 127*time.Millisecond) {
				t.Errorf("%#02x is %v, shorter than %v", uint8(got), got.Duration(), tt.d)
			}
		})
	}
}

// TestGoldenFrames checks the frames for every PDU kind and addressing
// mode against testdata/frames.golden (cansend text). Run with -update to
// rewrite it.
func TestGoldenFrames(t *testing.T) {
	fd := Config{TxID: 0x7E0, RxID: 0x7E8, FD: true}
	ext := Config{Addressing: ExtendedAddressing, TxID: 0x6F1, RxID: 0x610, SourceAddress: 0xF1, TargetAddress: 0x10}
	mixed := Config{Addressing: MixedAddressing, TxID: 0x7E0, RxID: 0x7E8, AddressExtension: 0x42}
	mixed29 := Config{Addressing: MixedAddressing, Extended: true, SourceAddress: 0xF1, TargetAddress: 0x10, AddressExtension: 0x42}
	fixed := Config{Addressing: NormalFixedAddressing, SourceAddress: 0xF1, TargetAddress: 0x10}
	tp := PDU{Type: SingleFrame, Data: []byte{0x3E, 0x80}}
	msg := payload(100_000)
	tests := []struct {
		name string
		cfg  Config
		p    PDU
	}{
		{"SF tester present", tester, tp},
		{"SF tester present pad 0xAA", withPadding(tester, PadWith(0xAA)), tp},
		{"SF tester present no padding", withPadding(tester, NoPadding), tp},
		{"SF 7 bytes", tester, PDU{Type: SingleFrame, Data: msg[:7]}},
		{"SF FD 2 bytes", fd, tp},
		{"SF FD escape 20 bytes", fd, PDU{Type: SingleFrame, Data: msg[:20]}},
		{"SF FD escape 62 bytes", fd, PDU{Type: SingleFrame, Data: msg[:62]}},
		{"SF FD escape 20 bytes no padding", withPadding(fd, NoPadding), PDU{Type: SingleFrame, Data: msg[:20]}},
		{"FF 20 bytes", tester, PDU{Type: FirstFrame, Length: 20, Data: msg[:6]}},
		{"FF 4095 bytes", tester, PDU{Type: FirstFrame, Length: 4095, Data: msg[:6]}},
		{"FF 32-bit 100000 bytes classic", tester, PDU{Type: FirstFrame, Length: 100_000, Data: msg[:2]}},
		{"FF 32-bit 100000 bytes FD", fd, PDU{Type: FirstFrame, Length: 100_000, Data: msg[:58]}},
		{"FF FD 12-bit", fd, PDU{Type: FirstFrame, Length: 200, Data: msg[:62]}},
		{"CF 1", tester, PDU{Type: ConsecutiveFrame, SeqNum: 1, Data: msg[6:13]}},
		{"CF 0 last padded", tester, PDU{Type: ConsecutiveFrame, SeqNum: 0, Data: msg[:3]}},
		{"CF last no padding", withPadding(tester, NoPadding), PDU{Type: ConsecutiveFrame, SeqNum: 2, Data: msg[:3]}},
		{"CF FD last 30 bytes", fd, PDU{Type: ConsecutiveFrame, SeqNum: 5, Data: msg[:30]}},
		{"FC CTS", tester, PDU{Type: FlowControl}},
		{"FC CTS BS 8 STmin 500us", tester, PDU{Type: FlowControl, BlockSize: 8, STmin: 0xF5}},
		{"FC WAIT", tester, PDU{Type: FlowControl, Status: FlowWait}},
		{"FC OVFLW", tester, PDU{Type: FlowControl, Status: FlowOverflow}},
		{"FC no padding", withPadding(tester, NoPadding), PDU{Type: FlowControl, STmin: 0x0A}},
		{"extended SF", ext, tp},
		{"extended FF", ext, PDU{Type: FirstFrame, Length: 20, Data: msg[:5]}},
		{"extended FC", ext, PDU{Type: FlowControl}},
		{"mixed SF", mixed, tp},
		{"mixed 29-bit SF", mixed29, tp},
		{"normal fixed SF", fixed, tp},
		{"normal fixed CF", fixed, PDU{Type: ConsecutiveFrame, SeqNum: 3, Data: msg[:7]}},
	}
	var out strings.Builder
	for _, tt := range tests {
		r, err := tt.cfg.resolve()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		f, err := r.frame(r.txID, r.txAE, tt.p)
		if err != nil {
			t.Fatalf("%s: frame: %v", tt.name, err)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		// The frame decodes to the PDU again (Data of FF and CF up to its length).
		got, err := DecodePDU(f.Payload()[r.aeLen():])
		if err != nil {
			t.Errorf("%s: decode: %v", tt.name, err)
		} else if got.Type != tt.p.Type || got.Length != tt.p.Length || got.SeqNum != tt.p.SeqNum ||
			got.Status != tt.p.Status || got.BlockSize != tt.p.BlockSize || got.STmin != tt.p.STmin ||
			!bytes.HasPrefix(got.Data, tt.p.Data) {
			t.Errorf("%s: decoded %v, want %v", tt.name, got, tt.p)
		}
		fmt.Fprintf(&out, "%-40s %v\n", tt.name, f)
	}
	golden(t, "frames.golden", out.String())
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "-%s\n+%s\n", wl, gl)
		}
	}
	return b.String()
}
