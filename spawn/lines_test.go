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
