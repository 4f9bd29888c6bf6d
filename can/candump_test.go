package can

import (
	"bytes"
	"encoding"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseLogLine(t *testing.T) {
	ts := time.Unix(1436509052, 249713000)
	tests := []struct {
		name    string
		in      string
		want    LogEntry
		wantErr string
		wantOff int
	}{
		{name: "candump -l", in: "(1436509052.249713) can0 123#DEADBEEF",
			want: LogEntry{Time: ts, Interface: "can0", Frame: frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF)}},
		{name: "newline", in: "(1436509052.249713) can0 123#DEADBEEF\n",
			want: LogEntry{Time: ts, Interface: "can0", Frame: frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF)}},
		{name: "crlf", in: "(1436509052.249713) can0 123#\r\n",
			want: LogEntry{Time: ts, Interface: "can0", Frame: frame(0x123)}},
		{name: "nanoseconds", in: "(1436509052.249713123) can0 123#00",
			want: LogEntry{Time: time.Unix(1436509052, 249713123), Interface: "can0", Frame: frame(0x123, 0)}},
		{name: "direction R", in: "(1436509052.249713) vcan0 7E8#027E00 R",
			want: LogEntry{Time: ts, Interface: "vcan0", Frame: frame(0x7E8, 2, 0x7E, 0), Dir: 'R'}},
		{name: "direction T", in: "(1436509052.249713) vcan0 7E0#023E80 T",
			want: LogEntry{Time: ts, Interface: "vcan0", Frame: frame(0x7E0, 2, 0x3E, 0x80), Dir: 'T'}},
		{name: "aligned interface", in: "(1436509052.249713)  can0 123#R",
			want: LogEntry{Time: ts, Interface: "can0", Frame: remote(0x123, 0)}},
		{name: "tabs and trailing space", in: "(1436509052.249713)\tcan0\t123#R \t",
			want: LogEntry{Time: ts, Interface: "can0", Frame: remote(0x123, 0)}},
		{name: "fd extended", in: "(0000000000.000001) can1 18DAF110##3AA",
			want: LogEntry{Time: time.Unix(0, 1000), Interface: "can1", Frame: extended(fd(frame(0x18DAF110, 0xAA), true, true))}},

		{name: "empty", in: "", wantErr: "start with '('"},
		{name: "no paren", in: "1436509052.249713 can0 123#00", wantErr: "start with '('"},
		{name: "no seconds", in: "(.249713) can0 123#00", wantErr: "missing timestamp seconds", wantOff: 1},
		{name: "no dot", in: "(1436509052) can0 123#00", wantErr: "missing '.'", wantOff: 11},
		{name: "3 decimals", in: "(1436509052.249) can0 123#00", wantErr: "6 or 9 decimals", wantOff: 12},
		{name: "10 decimals", in: "(1436509052.2497131234) can0 123#00", wantErr: "missing ')'", wantOff: 21},
		{name: "huge seconds", in: "(99999999999999999999.000000) can0 123#00", wantErr: "more than 12 digits", wantOff: 13},
		{name: "no space", in: "(1436509052.249713)can0 123#00", wantErr: "missing white space", wantOff: 19},
		{name: "no interface", in: "(1436509052.249713) ", wantErr: "missing interface", wantOff: 20},
		{name: "no frame", in: "(1436509052.249713) can0", wantErr: "missing frame", wantOff: 24},
		{name: "bad direction", in: "(1436509052.249713) can0 123#00 X", wantErr: "direction must be R or T", wantOff: 32},
		{name: "long direction", in: "(1436509052.249713) can0 123#00 RX", wantErr: "direction must be R or T", wantOff: 32},
		{name: "extra field", in: "(1436509052.249713) can0 123#00 R extra", wantErr: "unexpected text", wantOff: 34},
		{name: "bad frame", in: "(1436509052.249713) can0 123#0G", wantErr: "invalid hex digit 'G'", wantOff: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLogLine(tt.in)
			if tt.wantErr != "" {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("ParseLogLine(%q) error = %v, want *SyntaxError", tt.in, err)
				}
				if !strings.Contains(se.Reason, tt.wantErr) || se.Offset != tt.wantOff {
					t.Errorf("ParseLogLine(%q) error = %+v, want %q at offset %d", tt.in, *se, tt.wantErr, tt.wantOff)
				}
				if !strings.HasPrefix(tt.in, se.Input) {
					t.Errorf("error input %q is not the line", se.Input)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLogLine(%q): %v", tt.in, err)
			}
			if !got.Time.Equal(tt.want.Time) || got.Interface != tt.want.Interface || got.Frame != tt.want.Frame || got.Dir != tt.want.Dir {
				t.Errorf("ParseLogLine(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLogEntryString(t *testing.T) {
	tests := []struct {
		name string
		e    LogEntry
		want string
	}{
		{"candump -l", LogEntry{Time: time.Unix(1436509052, 249713999), Interface: "can0", Frame: frame(0x123, 0xDE, 0xAD)}, "(1436509052.249713) can0 123#DEAD"},
		{"padded seconds", LogEntry{Time: time.Unix(12, 5000), Interface: "vcan0", Frame: remote(0x7DF, 0)}, "(0000000012.000005) vcan0 7DF#R"},
		{"direction", LogEntry{Time: time.Unix(1700000000, 0), Interface: "can1", Frame: fd(frame(0x123, 1), true, false), Dir: 'T'}, "(1700000000.000000) can1 123##101 T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			b, err := tt.e.MarshalText()
			if err != nil || string(b) != tt.want {
				t.Errorf("MarshalText() = %q, %v", b, err)
			}
		})
	}
}

func TestLogEntryInvalid(t *testing.T) {
	ok := LogEntry{Time: time.Unix(1, 0), Interface: "can0", Frame: frame(1)}
	tests := []struct {
		name   string
		modify func(*LogEntry)
		want   error
	}{
		{"no interface", func(e *LogEntry) { e.Interface = "" }, ErrInvalidEntry},
		{"space in interface", func(e *LogEntry) { e.Interface = "can 0" }, ErrInvalidEntry},
		{"before 1970", func(e *LogEntry) { e.Time = time.Unix(-1, 0) }, ErrInvalidEntry},
		{"bad direction", func(e *LogEntry) { e.Dir = 'X' }, ErrInvalidEntry},
		{"bad frame", func(e *LogEntry) { e.Frame.Len = 9 }, ErrInvalidFrame},
	}
	if _, err := ok.MarshalText(); err != nil {
		t.Fatalf("valid entry: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.modify(&e)
			if _, err := e.MarshalText(); !errors.Is(err, tt.want) {
				t.Errorf("MarshalText error = %v, want %v", err, tt.want)
			}
			var buf bytes.Buffer
			w := NewLogWriter(&buf)
			if err := w.Write(e); !errors.Is(err, tt.want) {
				t.Errorf("Write error = %v, want %v", err, tt.want)
			}
			if err := w.Flush(); err != nil || buf.Len() != 0 {
				t.Errorf("a rejected entry wrote %q (flush: %v)", buf.String(), err)
			}
		})
	}
}

// readAll reads every entry of a log file, failing on any error.
func readAll(t *testing.T, path string) []LogEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewLogReader(f)
	var entries []LogEntry
	for {
		e, err := r.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		entries = append(entries, e)
	}
}

// TestLogRoundTrip reads logs written as candump -l (and -l -x) writes
// them and writes them back byte for byte.
func TestLogRoundTrip(t *testing.T) {
	for _, name := range []string{"candump.log", "candump-x.log"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			entries := readAll(t, path)
			if n := bytes.Count(want, []byte("\n")); len(entries) != n {
				t.Fatalf("read %d entries from %d lines", len(entries), n)
			}
			var buf bytes.Buffer
			w := NewLogWriter(&buf)
			for _, e := range entries {
				if err := w.Write(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("rewritten log differs:\ngot:\n%s\nwant:\n%s", buf.Bytes(), want)
			}
		})
	}
}

func TestLogReaderContent(t *testing.T) {
	entries := readAll(t, filepath.Join("testdata", "candump.log"))
	want := []struct {
		iface string
		frame Frame
	}{
		{"can0", frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"can0", frame(0x7E0, 0x02, 0x3E, 0x80, 0, 0, 0, 0, 0)},
		{"can0", frame(0x7E8, 0x03, 0x7F, 0x3E, 0x11, 0, 0, 0, 0)},
		{"can0", extended(frame(0x18DAF110, 0x02, 0x10, 0x03, 0, 0, 0, 0, 0))},
		{"can0", remote(0x123, 0)},
		{"can0", Frame{ID: 0x12345678, Extended: true, Remote: true, Len: 5}},
		{"can0", fd(frame(0x123, 0xDE, 0xAD, 0xBE, 0xEF), true, false)},
		{"can0", fd(frame(0x7DF, seq(12)...), true, true)},
		{"can0", frame(0)},
		{"can0", extended(frame(0x1FFFFFFF, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88))},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries, want %d", len(entries), len(want))
	}
	for i, w := range want {
		if entries[i].Interface != w.iface || entries[i].Frame != w.frame || entries[i].Dir != 0 {
			t.Errorf("entry %d = %+v, want %s %v", i, entries[i], w.iface, w.frame)
		}
	}
	if !entries[0].Time.Equal(time.Unix(1436509052, 249713000)) {
		t.Errorf("first time = %v", entries[0].Time)
	}
	if !entries[9].Time.Equal(time.Unix(1436509053, 1000)) {
		t.Errorf("last time = %v", entries[9].Time)
	}
}

// TestLogReaderLenient reads a log with what canplayer tolerates (comments,
// blank lines, DROPCOUNT notes, aligned interface names, tabs, CRLF,
// nanoseconds) and compares its rewriting with a golden file.
func TestLogReaderLenient(t *testing.T) {
	entries := readAll(t, filepath.Join("testdata", "candump-mixed.log"))
	var buf bytes.Buffer
	w := NewLogWriter(&buf)
	for _, e := range entries {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	golden(t, "candump-mixed.golden", buf.Bytes())
	if len(entries) != 7 {
		t.Errorf("got %d entries, want 7", len(entries))
	}
}

func TestLogReaderErrors(t *testing.T) {
	in := "(1.000000) can0 123#00\n\n(2.000000) can0 123#0\n(3.000000) can0 456#11\n"
	r := NewLogReader(strings.NewReader(in))
	if e, err := r.Next(); err != nil || e.Frame != frame(0x123, 0) {
		t.Fatalf("first Next = %+v, %v", e, err)
	}
	_, err := r.Next()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || r.Line() != 3 {
		t.Fatalf("second Next error = %v, want a *LineError for line 3", err)
	}
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %q does not wrap ErrSyntax or name the line", err)
	}
	if e, err := r.Next(); err != nil || e.Frame != frame(0x456, 0x11) {
		t.Fatalf("Next after a bad line = %+v, %v", e, err)
	}
	for range 2 {
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next at end = %v, want io.EOF", err)
		}
	}

	long := "(1.000000) can0 123#" + strings.Repeat("0", 5000) + "\n"
	r = NewLogReader(strings.NewReader(long))
	if _, err := r.Next(); !errors.As(err, &le) || le.Line != 1 {
		t.Fatalf("Next on an over-long line = %v, want a *LineError for line 1", err)
	}
	if _, err := r.Next(); !errors.As(err, &le) {
		t.Fatalf("error is not sticky: %v", err)
	}
}

func TestLogWriterNanoseconds(t *testing.T) {
	var buf bytes.Buffer
	w := NewLogWriter(&buf)
	w.Nanoseconds = true
	e := LogEntry{Time: time.Unix(1436509052, 249713123), Interface: "can0", Frame: frame(0x123, 1)}
	if err := w.Write(e); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "(1436509052.249713123) can0 123#01\n"; buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
	got, err := NewLogReader(&buf).Next()
	if err != nil || !got.Time.Equal(e.Time) || got.Frame != e.Frame {
		t.Errorf("read back %+v, %v", got, err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogWriterError(t *testing.T) {
	w := NewLogWriter(failWriter{})
	e := LogEntry{Time: time.Unix(1, 0), Interface: "can0", Frame: frame(1)}
	if err := w.Write(e); err != nil {
		t.Fatalf("buffered Write: %v", err)
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush error = %v, want disk full", err)
	}
}

func TestLogEntryTextInterfaces(t *testing.T) {
	var (
		_ encoding.TextMarshaler   = LogEntry{}
		_ encoding.TextAppender    = LogEntry{}
		_ encoding.TextUnmarshaler = (*LogEntry)(nil)
	)
	var e LogEntry
	if err := e.UnmarshalText([]byte("(1436509052.249713) can0 123#R T")); err != nil {
		t.Fatal(err)
	}
	if e.Frame != remote(0x123, 0) || e.Dir != 'T' || e.Interface != "can0" {
		t.Errorf("UnmarshalText = %+v", e)
	}
	if err := e.UnmarshalText([]byte("junk")); !errors.Is(err, ErrSyntax) || e.Interface != "can0" {
		t.Errorf("UnmarshalText(junk) = %v, entry %+v", err, e)
	}
}

func FuzzParseLogLine(f *testing.F) {
	for _, s := range []string{
		"(1436509052.249713) can0 123#DEADBEEF",
		"(1436509052.249713123)  vcan10 18DAF110##3AA R",
		"(0000000001.000000) can0 123#R8_E T",
		"(1.000000)\tcan0\t123#11.22\r\n",
		"(1436509052.249713) can0 123#00 X",
		"(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseLogLine(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(se.Input) {
				t.Fatalf("ParseLogLine(%q) error %v is not a *SyntaxError with an offset in range", s, err)
			}
			return
		}
		text, err := e.MarshalText()
		if err != nil {
			t.Fatalf("ParseLogLine(%q) = %+v, which does not marshal: %v", s, e, err)
		}
		again, err := ParseLogLine(string(text))
		if err != nil {
			t.Fatalf("ParseLogLine(%q) (from %q): %v", text, s, err)
		}
		// Text keeps microseconds.
		if !again.Time.Equal(e.Time.Truncate(time.Microsecond)) || again.Interface != e.Interface || again.Frame != e.Frame || again.Dir != e.Dir {
			t.Fatalf("round trip of %q via %q: %+v != %+v", s, text, again, e)
		}
	})
}

func TestReadLog(t *testing.T) {
	got, err := ReadLog(strings.NewReader("(1436509052.249713) can0 123#DEADBEEF\n\n(1436509052.249800) can0 7DF#023E80\n"))
	if err != nil || len(got) != 2 || got[1].Frame.ID != 0x7DF {
		t.Fatalf("ReadLog = %v, %v", got, err)
	}
	got, err = ReadLog(strings.NewReader("(1436509052.249713) can0 123#DEADBEEF\n(bad) can0 1#\n"))
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || len(got) != 1 {
		t.Fatalf("ReadLog with a bad line = %v, %v", got, err)
	}
}

// An entry AppendText (and so LogWriter) accepts is one ParseLogLine
// reads back: a control character in the interface name, or more than 12
// digits of seconds, is refused when written.
func TestLogEntryWrittenIsReadBack(t *testing.T) {
	f := frame(0x123, 0xDE, 0xAD)
	for _, e := range []LogEntry{
		{Time: time.Unix(1700000000, 0), Interface: "can\x000", Frame: f},
		{Time: time.Unix(1700000000, 0), Interface: "can\x7f", Frame: f},
		{Time: time.Unix(1700000000, 0), Interface: "can\v0", Frame: f},
		{Time: time.Unix(1700000000, 0), Interface: "can\f0", Frame: f},
		{Time: time.Unix(1_000_000_000_000, 0), Interface: "can0", Frame: f}, // 13 digits of seconds
		{Time: time.Unix(999_999_999_999, 0), Interface: "can0", Frame: f},   // 12: fine
	} {
		b, err := e.AppendText(nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidEntry) {
				t.Errorf("AppendText(%q, %d): %v, want ErrInvalidEntry", e.Interface, e.Time.Unix(), err)
			}
			continue
		}
		if _, err := ParseLogLine(string(b)); err != nil {
			t.Errorf("AppendText(%q, %d) = %q, which ParseLogLine refuses: %v", e.Interface, e.Time.Unix(), b, err)
		}
	}
}

// TestLogReaderErrorFrame: an error frame's line (candump -l -e) is an
// error matching ErrErrorFrame, with the line's time and interface, so
// that a reader filtering by interface can count it right.
func TestLogReaderErrorFrame(t *testing.T) {
	in := "(1436509052.249713) can0 123#00\n(1436509052.299713) vcan1 20000080#0000000000000000\n(1436509052.3) can0 456#11\n"
	r := NewLogReader(strings.NewReader(in))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	e, err := r.Next()
	if !errors.Is(err, ErrErrorFrame) {
		t.Fatalf("error frame line: %v, want ErrErrorFrame", err)
	}
	if e.Interface != "vcan1" || !e.Time.Equal(time.Unix(1436509052, 299713000)) || e.Frame != (Frame{}) {
		t.Fatalf("error frame entry %+v, want vcan1 at its time, no frame", e)
	}
	if _, err := r.Next(); err == nil || errors.Is(err, ErrErrorFrame) {
		t.Fatalf("a line with 1 decimal: %v, want a syntax error, not an error frame", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
}
