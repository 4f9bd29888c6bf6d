package can

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// frame builds a frame with a payload, for tables.
func frame(id uint32, data ...byte) Frame {
	f := Frame{ID: id}
	f.SetPayload(data)
	return f
}

func extended(f Frame) Frame { f.Extended = true; return f }

func fd(f Frame, brs, esi bool) Frame {
	f.FD, f.BRS, f.ESI = true, brs, esi
	return f
}

func remote(id uint32, dlc uint8) Frame { return Frame{ID: id, Remote: true, Len: dlc} }

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Frame
		wantErr string // substring of the reason; "" for success
		wantOff int
	}{
		{name: "standard", in: "123#DEADBEEF", want: frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF)},
		{name: "standard no data", in: "123#", want: frame(0x123)},
		{name: "standard max id", in: "7FF#00", want: frame(0x7FF, 0)},
		{name: "standard 8 bytes", in: "7E0#023E800000000000", want: frame(0x7E0, 0x02, 0x3E, 0x80, 0, 0, 0, 0, 0)},
		{name: "lower case", in: "7e0#deadbeef", want: frame(0x7E0, 0xDE, 0xAD, 0xBE, 0xEF)},
		{name: "leading zero id", in: "001#01", want: frame(0x001, 1)},
		{name: "extended", in: "1ABCDEF0#00", want: extended(frame(0x1ABCDEF0, 0))},
		{name: "extended small id", in: "00000123#", want: extended(frame(0x123))},
		{name: "extended max id", in: "1FFFFFFF#11", want: extended(frame(0x1FFFFFFF, 0x11))},
		{name: "dots", in: "123#DE.AD.BE.EF", want: frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF)},
		{name: "dots uneven groups", in: "123#11.2233.44556677.88", want: frame(0x123, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88)},
		{name: "leading dot", in: "123#.11", want: frame(0x123, 0x11)},
		{name: "trailing dot", in: "123#11.", want: frame(0x123, 0x11)},
		{name: "remote", in: "123#R", want: remote(0x123, 0)},
		{name: "remote lower case", in: "7A1#r", want: remote(0x7A1, 0)},
		{name: "remote R0", in: "123#R0", want: remote(0x123, 0)},
		{name: "remote dlc", in: "123#R3", want: remote(0x123, 3)},
		{name: "remote dlc 8", in: "123#R8", want: remote(0x123, 8)},
		{name: "remote raw dlc", in: "123#R8_E", want: remote(0x123, 14)},
		{name: "remote old style dlc", in: "123#RF", want: remote(0x123, 15)},
		{name: "remote extended", in: "12345678#R5", want: Frame{ID: 0x12345678, Extended: true, Remote: true, Len: 5}},
		{name: "raw dlc on 8 bytes dropped", in: "123#1122334455667788_E", want: frame(0x123, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88)},
		{name: "fd no flags", in: "123##0112233", want: fd(frame(0x123, 0x11, 0x22, 0x33), false, false)},
		{name: "fd brs", in: "123##1112233", want: fd(frame(0x123, 0x11, 0x22, 0x33), true, false)},
		{name: "fd esi", in: "123##2112233", want: fd(frame(0x123, 0x11, 0x22, 0x33), false, true)},
		{name: "fd brs esi empty", in: "123##3", want: fd(frame(0x123), true, true)},
		{name: "fd fdf flag ignored", in: "123##5AA", want: fd(frame(0x123, 0xAA), true, false)},
		{name: "fd dots", in: "123##1.11.22", want: fd(frame(0x123, 0x11, 0x22), true, false)},
		{name: "fd extended 64", in: "1ABCDEF0##1" + strings.Repeat("A5", 64), want: extended(fd(frame(0x1ABCDEF0, bytes.Repeat([]byte{0xA5}, 64)...), true, false))},
		{name: "fd padded to 12", in: "123##0" + strings.Repeat("FF", 9), want: fd(frame(0x123, append(bytes.Repeat([]byte{0xFF}, 9), 0, 0, 0)...), false, false)},

		{name: "empty", in: "", wantErr: "missing '#'", wantOff: 0},
		{name: "no hash", in: "123DEADBEEF", wantErr: "missing '#'", wantOff: 11},
		{name: "short id", in: "12#00", wantErr: "3 (standard) or 8", wantOff: 2},
		{name: "5 digit id", in: "12345#00", wantErr: "3 (standard) or 8", wantOff: 5},
		{name: "bad id digit", in: "1G3#00", wantErr: "invalid hex digit 'G' in identifier", wantOff: 1},
		{name: "standard id too big", in: "800#00", wantErr: "exceeds 7FF"},
		{name: "extended id too big", in: "40000000#00", wantErr: "exceeds 1FFFFFFF"},
		{name: "error frame", in: "20000001#0000", wantErr: "error frames"},
		{name: "error frame as candump -e logs it", in: "20000080#0000000000000000", wantErr: "error frames"},
		{name: "odd digits", in: "123#ABC", wantErr: "odd number", wantOff: 7},
		{name: "bad data digit", in: "123#ZZ", wantErr: "invalid hex digit 'Z' in data", wantOff: 4},
		{name: "9 classic bytes", in: "123#112233445566778899", wantErr: "more than 8 data bytes", wantOff: 20},
		{name: "65 fd bytes", in: "123##0" + strings.Repeat("00", 65), wantErr: "more than 64 data bytes", wantOff: 134},
		{name: "double dot", in: "123#11..22", wantErr: "invalid hex digit '.'", wantOff: 7},
		{name: "trailing space", in: "123#11 ", wantErr: "invalid hex digit ' '", wantOff: 6},
		{name: "remote bad dlc", in: "123#RX", wantErr: "invalid remote frame length", wantOff: 5},
		{name: "remote trailing", in: "123#R12", wantErr: "unexpected text after remote", wantOff: 6},
		{name: "remote raw dlc too small", in: "123#R8_8", wantErr: "raw DLC must be 9 to F", wantOff: 7},
		{name: "remote raw dlc missing", in: "123#R8_", wantErr: "missing raw DLC", wantOff: 7},
		{name: "raw dlc on fewer bytes", in: "123#11_9", wantErr: "invalid hex digit '_'", wantOff: 6},
		{name: "raw dlc trailing", in: "123#1122334455667788_9X", wantErr: "unexpected text after raw DLC", wantOff: 22},
		{name: "fd missing flags", in: "123##", wantErr: "missing CAN FD flags", wantOff: 5},
		{name: "fd bad flags", in: "123##G00", wantErr: "invalid CAN FD flags", wantOff: 5},
		{name: "fd remote", in: "123##1R", wantErr: "invalid hex digit 'R'", wantOff: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFrame(tt.in)
			if tt.wantErr != "" {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("ParseFrame(%q) error = %v, want *SyntaxError", tt.in, err)
				}
				if !errors.Is(err, ErrSyntax) {
					t.Errorf("error %v does not wrap ErrSyntax", err)
				}
				if errors.Is(err, ErrErrorFrame) != strings.HasPrefix(tt.name, "error frame") {
					t.Errorf("errors.Is(%v, ErrErrorFrame) = %v", err, errors.Is(err, ErrErrorFrame))
				}
				if !strings.Contains(se.Reason, tt.wantErr) || se.Offset != tt.wantOff || se.Input != tt.in {
					t.Errorf("ParseFrame(%q) error = %+v, want reason containing %q at offset %d", tt.in, *se, tt.wantErr, tt.wantOff)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFrame(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseFrame(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("parsed frame does not validate: %v", err)
			}
		})
	}
}

// TestFrameInterop reads testdata/cansend.txt, frames written exactly as
// can-utils' sprint_canframe prints them (candump -L, candump -l), and
// checks that each parses and prints back byte for byte.
func TestFrameInterop(t *testing.T) {
	file, err := os.Open(filepath.Join("testdata", "cansend.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		n++
		f, err := ParseFrame(line)
		if err != nil {
			t.Errorf("ParseFrame(%q): %v", line, err)
			continue
		}
		if got := f.String(); got != line {
			t.Errorf("ParseFrame(%q).String() = %q", line, got)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d frames in testdata/cansend.txt", n)
	}
}

// TestFrameStringGolden formats a table of frames and compares the result
// with testdata/frames.golden (rewrite it with -update).
func TestFrameStringGolden(t *testing.T) {
	frames := []Frame{
		frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF),
		frame(0),
		frame(0x7FF, seq(8)...),
		extended(frame(0x1ABCDEF0, 0)),
		extended(frame(0x1FFFFFFF)),
		extended(frame(0x7E0, 0x02, 0x3E, 0x80)),
		remote(0x123, 0),
		remote(0x123, 3),
		remote(0x123, 8),
		remote(0x123, 15),
		{ID: 0x18DAF110, Extended: true, Remote: true, Len: 2},
		fd(frame(0x123), false, false),
		fd(frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF), true, false),
		fd(frame(0x123, 0x11), false, true),
		fd(frame(0x123, seq(12)...), true, true),
		extended(fd(frame(0x18DAF110, seq(64)...), true, false)),
	}
	var buf bytes.Buffer
	for _, f := range frames {
		buf.WriteString(f.String())
		buf.WriteByte('\n')
		g, err := ParseFrame(f.String())
		if err != nil || g != f {
			t.Errorf("ParseFrame(%q) = %+v, %v; want %+v", f.String(), g, err, f)
		}
	}
	golden(t, "frames.golden", buf.Bytes())
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestFrameTextMarshaling(t *testing.T) {
	var (
		_ encoding.TextMarshaler   = Frame{}
		_ encoding.TextAppender    = Frame{}
		_ encoding.TextUnmarshaler = (*Frame)(nil)
	)
	f := extended(frame(0x18DAF110, 0x02, 0x10, 0x03))
	b, err := f.MarshalText()
	if err != nil || string(b) != "18DAF110#021003" {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	b, err = f.AppendText([]byte("x="))
	if err != nil || string(b) != "x=18DAF110#021003" {
		t.Fatalf("AppendText = %q, %v", b, err)
	}
	var g Frame
	if err := g.UnmarshalText(b[2:]); err != nil || g != f {
		t.Fatalf("UnmarshalText = %+v, %v", g, err)
	}
	g = frame(0x1, 1)
	if err := g.UnmarshalText([]byte("zz")); !errors.Is(err, ErrSyntax) {
		t.Fatalf("UnmarshalText(zz) error = %v, want ErrSyntax", err)
	}
	if g != frame(0x1, 1) {
		t.Errorf("failed UnmarshalText changed the frame to %+v", g)
	}

	bad := frame(0x800, 1) // 12 bits on a standard id
	if _, err := bad.MarshalText(); !errors.Is(err, ErrInvalidFrame) {
		t.Errorf("MarshalText of invalid frame error = %v, want ErrInvalidFrame", err)
	}
	if s := bad.String(); s != "800#01" {
		t.Errorf("String of invalid frame = %q", s)
	}
	huge := Frame{ID: 0xFFFFFFFF, Len: 200}
	if s := huge.String(); !strings.HasPrefix(s, "FFFFFFFF#") || len(s) != 9+128 {
		t.Errorf("String of garbage frame = %q", s)
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := ParseFrame("123#XY")
	want := `can: parse "123#XY": offset 4: invalid hex digit 'X' in data`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = ParseFrame(strings.Repeat("9", 200))
	if err == nil || len(err.Error()) > 150 {
		t.Errorf("error for long input is not truncated: %v", err)
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		"123#DEADBEEF", "1ABCDEF0#00", "123#R", "123#R3", "123#R8_E", "123##1DEADBEEF",
		"123#DE.AD.BE.EF", "123#1122334455667788_E", "123##0" + strings.Repeat("AB", 9), "7e0#r", "", "#", "123##",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := ParseFrame(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("ParseFrame(%q) error %v is not a *SyntaxError with an offset in range", s, err)
			}
			return
		}
		if err := fr.Validate(); err != nil {
			t.Fatalf("ParseFrame(%q) = %+v, which does not validate: %v", s, fr, err)
		}
		text := fr.String()
		again, err := ParseFrame(text)
		if err != nil {
			t.Fatalf("ParseFrame(%q) (from %q): %v", text, s, err)
		}
		if again != fr {
			t.Fatalf("round trip of %q via %q: %+v != %+v", s, text, again, fr)
		}
		if again.String() != text {
			t.Fatalf("String not stable: %q then %q", text, again.String())
		}
		var fromBytes Frame
		if err := fromBytes.UnmarshalText([]byte(s)); err != nil || fromBytes != fr {
			t.Fatalf("UnmarshalText(%q) = %+v, %v; ParseFrame gave %+v", s, fromBytes, err, fr)
		}
	})
}

// Received embeds Frame, whose MarshalText would be promoted: JSON keeps
// the receive time.
func TestReceivedJSONKeepsTheTime(t *testing.T) {
	in := Received{Time: time.Unix(1700000000, 123456000).UTC(), Frame: frame(0x123, 0xDE, 0xAD)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Received
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
	if !out.Time.Equal(in.Time) || out.Frame != in.Frame {
		t.Errorf("JSON round trip: wrote %s, read back %v %v", b, out.Time, out.Frame)
	}
}
