package isotp

import (
	"bytes"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

// A first frame the receiver ignores (FF_DL below FF_DLmin, a frame
// shorter than 8 bytes, the 32-bit escape for a length that 12 bits hold:
// ISO 15765-2:2016, as Linux's isotp reads it) leaves the reception in
// progress alone.
func TestIgnoredFirstFrameKeepsTheReception(t *testing.T) {
	for _, bad := range []string{
		"7E0#1007AABBCCDDEEFF", // FF_DL 7 < FF_DLmin 8
		"7E0#1014AABBCC",       // CAN_DL 5 < 8
		"7E0#100000000FFFAABB", // escape for FF_DL 4095
		"7E0#1000000000140001", // escape for FF_DL 20
	} {
		t.Run(bad, func(t *testing.T) {
			ctx := testCtx(t)
			h := can.NewHub()
			ecu := newConn(t, h, peer(tester))
			raw := attach(t, h)
			sendFrame(t, ctx, raw, "7E0#1014000102030405") // FF, 20 bytes
			if fc := recvFrame(t, ctx, raw); fc.Data[0] != 0x30 {
				t.Fatalf("want FC CTS, got % X", fc.Payload())
			}
			sendFrame(t, ctx, raw, bad)
			sendFrame(t, ctx, raw, "7E0#21060708090A0B0C")
			sendFrame(t, ctx, raw, "7E0#220D0E0F10111213")
			got, err := ecu.Recv(ctx)
			if err != nil {
				t.Fatalf("Recv: %v (the ignored FF aborted the reception)", err)
			}
			if want := seqBytes(20); !bytes.Equal(got, want) {
				t.Fatalf("Recv = % X, want % X", got, want)
			}
		})
	}
}

// SF_DL 0 (the escape) is valid only in a CAN FD frame longer than 8
// bytes, and such a frame must use it (ISO 15765-2:2016; Linux's isotp
// drops the others too): a single frame of the wrong form is ignored.
func TestSingleFrameOfTheWrongLengthFormIsIgnored(t *testing.T) {
	for _, tc := range []struct {
		name, bad, good string
		fd              bool
	}{
		{"escape in a classic frame", "7E0#0003112233CCCCCC", "7E0#023E00CCCCCCCCCC", false},
		{"4-bit SF_DL in 12 bytes", "7E0##003112233CCCCCCCCCCCCCCCC", "7E0##0023E00CCCCCCCCCC", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			cfg := tester
			cfg.FD = tc.fd
			h := can.NewHub()
			ecu := newConn(t, h, peer(cfg))
			raw := attach(t, h)
			sendFrame(t, ctx, raw, tc.bad)
			sendFrame(t, ctx, raw, tc.good)
			got, err := ecu.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte{0x3E, 0x00}) {
				t.Fatalf("first message received is % X, want 3E 00 (the malformed SF must be ignored)", got)
			}
		})
	}
}

// Every STmin byte (ISO 15765-2 Table 20): 0x00-0x7F ms, 0xF1-0xF9
// 100-900 µs, the reserved rest as 0x7F.
func TestSTminEveryByte(t *testing.T) {
	for v := range 256 {
		var want time.Duration
		switch {
		case v <= 0x7F:
			want = time.Duration(v) * time.Millisecond
		case v >= 0xF1 && v <= 0xF9:
			want = time.Duration(v-0xF0) * 100 * time.Microsecond
		default:
			want = 127 * time.Millisecond
		}
		if got := STmin(v).Duration(); got != want {
			t.Errorf("STmin(%#02x) = %v, want %v", v, got, want)
		}
	}
}

func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
