package spawn

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestLineReader: lines without their "\n" or "\r\n", an unterminated last
// line, and lines past the limit cut (never inside a character), saying
// how much was cut.
func TestLineReader(t *testing.T) {
	in := "a\r\nbb\n" + strings.Repeat("x", 10) + "\n" + "ééééé\n" + "\nlast"
	lr := &lineReader{br: bufio.NewReaderSize(strings.NewReader(in), 16), max: 9}
	type line struct {
		s   string
		cut int
	}
	want := []line{{"a", 0}, {"bb", 0}, {"xxxxxxxxx", 1}, {"éééé", 2}, {"", 0}, {"last", 0}}
	for i, w := range want {
		b, cut, err := lr.next()
		if err != nil || string(b) != w.s || cut != w.cut {
			t.Fatalf("line %d: %q cut %d err %v, want %q cut %d", i, b, cut, err, w.s, w.cut)
		}
	}
	if _, _, err := lr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last line: %v, want EOF", err)
	}
}

// FuzzLineReader: whatever a child writes, every line fits the limit, the
// reader ends, and it yields one line per newline (plus an unterminated
// last one).
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\r\nbb\nccc"), 2)
	f.Add([]byte("\n\n\xff\xfe\n"), 1)
	f.Add([]byte(strings.Repeat("é", 40)+"\n"), 7)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<10 {
			return
		}
		lr := &lineReader{br: bufio.NewReaderSize(strings.NewReader(string(data)), 16), max: max}
		lines := 0
		for {
			b, cut, err := lr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			if len(b) > max || cut < 0 {
				t.Fatalf("line of %d bytes (cut %d) past the limit %d", len(b), cut, max)
			}
			if lines++; lines > len(data)+1 {
				t.Fatal("more lines than bytes")
			}
		}
		want := strings.Count(string(data), "\n")
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		if lines != want {
			t.Fatalf("%d lines, want %d", lines, want)
		}
	})
}
