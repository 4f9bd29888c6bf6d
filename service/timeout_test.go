package service

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestTimeoutPrefix: the body prefix as the wire contract spells it,
// byte for byte, and what the method's ctx gets from it, alone and with
// the header.
func TestTimeoutPrefix(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{250, "\x1e250\n"},
		{1, "\x1e1\n"},
		{10, "\x1e10\n"},
		{0, "\x1e1\n"},  // a budget under a millisecond is still one
		{-7, "\x1e1\n"}, // and so is one already spent
		{maxSafeTimeoutMs, "\x1e" + strconv.FormatInt(maxSafeTimeoutMs, 10) + "\n"},
		{maxSafeTimeoutMs + 1, "\x1e" + strconv.FormatInt(maxSafeTimeoutMs, 10) + "\n"},
	} {
		got := string(AppendTimeoutPrefix([]byte(nil), tc.ms))
		if got != tc.want {
			t.Errorf("AppendTimeoutPrefix(%d) = %q, want %q", tc.ms, got, tc.want)
		}
		if got := string(AppendTimeoutPrefix([]byte("x"), tc.ms)); got != "x"+tc.want {
			t.Errorf("AppendTimeoutPrefix appends: %q", got)
		}
	}

	s := newFuzzServer(t)
	left := func(m *nats.Msg) int64 {
		t.Helper()
		out, code, msg := s.call(s.eps["left"], m)
		if code != 0 {
			t.Fatalf("left(%q, %v): %d %s", m.Data, m.Header, code, msg)
		}
		n, err := strconv.ParseInt(string(out), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	near := func(got, want int64) bool { return got <= want && got > want-1000 }
	if got := left(&nats.Msg{Data: AppendTimeoutPrefix(nil, 5000)}); !near(got, 5000) {
		t.Errorf("prefix 5000 ms: the method's deadline is %d ms away", got)
	}
	if got := left(&nats.Msg{Data: []byte(" \n")}); got != -1 {
		t.Errorf("no prefix: deadline %d ms away, want none", got)
	}
	both := func(header, prefix int64) *nats.Msg {
		return &nats.Msg{Header: nats.Header{TimeoutHeader: {strconv.FormatInt(header, 10)}}, Data: AppendTimeoutPrefix(nil, prefix)}
	}
	if got := left(both(9000, 5000)); !near(got, 5000) {
		t.Errorf("header 9000, prefix 5000: %d ms, want the shorter", got)
	}
	if got := left(both(3000, 5000)); !near(got, 3000) {
		t.Errorf("header 3000, prefix 5000: %d ms, want the shorter", got)
	}
	if got := left(both(-5, 5000)); !near(got, 5000) {
		t.Errorf("bad header, prefix 5000: %d ms", got)
	}
	// The input follows the prefix, spaces trimmed as without it.
	if out, code, msg := s.call(s.eps["int"], &nats.Msg{Data: []byte("\x1e40\n 7 \n")}); code != 0 || string(out) != "7" {
		t.Errorf("int after a prefix: %q %d %s", out, code, msg)
	}

	for _, body := range []string{
		"\x1e\n5",             // no digits
		"\x1e0\n5",            // no budget
		"\x1e12x\n5",          // not a digit
		"\x1e-5\n5",           // no sign
		"\x1e 5\n5",           // no space
		"\x1e5",               // no LF
		"\x1e5\r5",            // LF, not CR
		"\x1e9223372036855\n", // past time.Duration
		"\x1e" + strings.Repeat("9", 25) + "\n5",
	} {
		out, code, msg := s.call(s.eps["int"], &nats.Msg{Data: []byte(body)})
		if code != CodeBadRequest || out != nil || !strings.Contains(msg, "int: timeout prefix") {
			t.Errorf("body %q: %q %d %q, want 400 naming the method and the prefix", body, out, code, msg)
		}
	}
}

// FuzzTimeoutPrefix: what AppendTimeoutPrefix writes, cutTimeoutPrefix
// reads back, the input after it untouched; any other body either has no
// prefix (it is the input) or is refused, never misread.
func FuzzTimeoutPrefix(f *testing.F) {
	f.Add(int64(250), []byte(`{"n":1}`))
	f.Add(int64(0), []byte(""))
	f.Add(int64(-1), []byte("\x1e5\n"))
	f.Add(maxSafeTimeoutMs+1, []byte(" 7 "))
	f.Fuzz(func(t *testing.T, ms int64, input []byte) {
		body := AppendTimeoutPrefix(nil, ms)
		want := min(max(ms, 1), maxSafeTimeoutMs)
		got, rest, err := cutTimeoutPrefix(append(body, input...))
		if err != nil || got != want || string(rest) != string(input) {
			t.Fatalf("budget %d, input %q: read %d, %q, %v", ms, input, got, rest, err)
		}
		got, rest, err = cutTimeoutPrefix(input)
		refRest, refMS, ok := refTimeoutPrefix(input)
		if ok != (err == nil) || ok && (got != refMS || string(rest) != string(refRest)) {
			t.Fatalf("body %q: read %d, %q, %v; the documented reading: %d, %q, ok %v", input, got, rest, err, refMS, refRest, ok)
		}
	})
}
