package doip_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/bgkit/bgkit/uds/doip"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// step is one expected ReadMessage result: a message of type typ, or an
// error matching err.
type step struct {
	typ doip.PayloadType
	err error
}

func TestReader(t *testing.T) {
	diag := "02 FD 80 01 00 00 00 06 0E 00 E4 00 3E 80"
	alive := "02 FD 00 08 00 00 00 02 0E 00"
	tests := []struct {
		name      string
		in        string
		max       uint32
		supported func(doip.PayloadType) bool
		versions  func(byte) bool
		steps     []step
	}{
		{
			name:  "two messages then EOF",
			in:    diag + alive,
			steps: []step{{typ: doip.TypeDiagnosticMessage}, {typ: doip.TypeAliveCheckResponse}, {err: io.EOF}, {err: io.EOF}},
		},
		{
			name: "too large is skipped",
			in:   "02 FD 80 01 00 00 00 10" + strings.Repeat(" AA", 16) + alive,
			max:  15,
			steps: []step{
				{err: doip.HeaderNACKMessageTooLarge}, {typ: doip.TypeAliveCheckResponse}, {err: io.EOF},
			},
		},
		{
			name: "unknown type is skipped",
			in:   "02 FD 12 34 00 00 00 03 01 02 03" + alive,
			steps: []step{
				{err: doip.HeaderNACKUnknownPayloadType}, {typ: doip.TypeAliveCheckResponse}, {err: io.EOF},
			},
		},
		{
			name: "unsupported type is skipped",
			in:   diag + alive,
			supported: func(t doip.PayloadType) bool {
				return t == doip.TypeAliveCheckResponse
			},
			steps: []step{
				{err: doip.HeaderNACKUnknownPayloadType}, {typ: doip.TypeAliveCheckResponse}, {err: io.EOF},
			},
		},
		{
			name: "unknown type checked before size",
			in:   "02 FD 12 34 00 00 10 00" + alive,
			max:  16,
			steps: []step{
				{err: doip.HeaderNACKUnknownPayloadType}, {err: doip.ErrTruncated},
			},
		},
		{
			name: "bad inverse is sticky",
			in:   "02 FC 80 01 00 00 00 06 0E 00 E4 00 3E 80" + alive,
			steps: []step{
				{err: doip.HeaderNACKIncorrectPattern}, {err: doip.HeaderNACKIncorrectPattern},
			},
		},
		{
			// ISO 13400-2 Table 16: 0x04 is reserved by 2012/2019; a
			// receiver that does not support it fails the pattern check.
			name:     "unsupported version is sticky",
			in:       "04 FB 00 08 00 00 00 02 0E 00" + alive,
			versions: func(v byte) bool { return v == 0x02 },
			steps: []step{
				{err: doip.HeaderNACKIncorrectPattern}, {err: doip.HeaderNACKIncorrectPattern},
			},
		},
		{
			name:  "any version with a matching inverse without Versions",
			in:    "04 FB 00 08 00 00 00 02 0E 00" + "00 FF 00 08 00 00 00 02 0E 00",
			steps: []step{{typ: doip.TypeAliveCheckResponse}, {typ: doip.TypeAliveCheckResponse}, {err: io.EOF}},
		},
		{
			name: "invalid length is sticky",
			in:   "02 FD 00 08 00 00 00 03 0E 00 00" + alive,
			steps: []step{
				{err: doip.HeaderNACKInvalidPayloadLength}, {err: doip.HeaderNACKInvalidPayloadLength},
			},
		},
		{
			name:  "truncated header",
			in:    diag + "02 FD 80",
			steps: []step{{typ: doip.TypeDiagnosticMessage}, {err: doip.ErrTruncated}, {err: doip.ErrTruncated}},
		},
		{
			name:  "truncated payload",
			in:    "02 FD 80 01 00 00 00 06 0E 00 E4",
			steps: []step{{err: doip.ErrTruncated}},
		},
		{
			name:  "truncated skipped payload",
			in:    "02 FD 80 01 00 00 01 00 0E 00",
			max:   16,
			steps: []step{{err: doip.HeaderNACKMessageTooLarge}, {err: doip.ErrTruncated}},
		},
		{
			name:  "empty",
			in:    "",
			steps: []step{{err: io.EOF}},
		},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tc.name
			if oneByte {
				name += "/one byte reads"
			}
			t.Run(name, func(t *testing.T) {
				var src io.Reader = bytes.NewReader(unhex(t, tc.in))
				if oneByte {
					src = iotest.OneByteReader(src)
				}
				r := doip.NewReader(src)
				r.MaxPayload = tc.max
				r.Supported = tc.supported
				r.Versions = tc.versions
				for i, st := range tc.steps {
					_, m, err := r.ReadMessage()
					if st.err != nil {
						if !errors.Is(err, st.err) {
							t.Fatalf("step %d: err = %v, want %v", i, err, st.err)
						}
						if m != nil {
							t.Fatalf("step %d: message %#v with error", i, m)
						}
						continue
					}
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if m.PayloadType() != st.typ {
						t.Fatalf("step %d: got %v, want %v", i, m.PayloadType(), st.typ)
					}
				}
			})
		}
	}
}

// TestReaderBounded checks that refused headers are decided before the
// payload is read: an endless stream announcing 4 GiB yields a NACK after
// reading just the header.
func TestReaderBounded(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		wantCode doip.HeaderNACKCode
		wantSkip bool
	}{
		{"too large", "02 FD 80 01 FF FF FF FF", doip.HeaderNACKMessageTooLarge, true},
		{"unknown type", "02 FD 77 77 FF FF FF FF", doip.HeaderNACKUnknownPayloadType, true},
		{"invalid length", "02 FD 00 07 00 00 00 10", doip.HeaderNACKInvalidPayloadLength, false},
		{"incorrect pattern", "02 00 80 01 FF FF FF FF", doip.HeaderNACKIncorrectPattern, false},
		{"unsupported version", "05 FA 80 01 FF FF FF FF", doip.HeaderNACKIncorrectPattern, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingReader{r: io.MultiReader(bytes.NewReader(unhex(t, tc.header)), zeros{})}
			r := doip.NewReader(src)
			r.MaxPayload = 64
			r.Versions = func(v byte) bool { return v == doip.Version2012 }
			h, _, err := r.ReadMessage()
			herr, ok := errors.AsType[*doip.HeaderError](err)
			if !ok {
				t.Fatalf("err = %v, want a *HeaderError", err)
			}
			if herr.Code != tc.wantCode || herr.Header != h {
				t.Fatalf("got %+v, want code %v", herr, tc.wantCode)
			}
			if herr.Code.ClosesSocket() == tc.wantSkip {
				t.Fatalf("ClosesSocket() = %v", herr.Code.ClosesSocket())
			}
			if src.n != doip.HeaderLen {
				t.Fatalf("read %d bytes, want only the header", src.n)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r := doip.NewReader(iotest.ErrReader(boom))
	if _, _, err := r.ReadMessage(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func TestReaderMessagesDoNotAlias(t *testing.T) {
	in := unhex(t, "02 FD 80 01 00 00 00 06 0E 00 E4 00 3E 80")
	_, m, err := doip.NewReader(bytes.NewReader(in)).ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	clear(in)
	if got := m.(doip.DiagnosticMessage).Data; !bytes.Equal(got, []byte{0x3E, 0x80}) {
		t.Fatalf("data changed with the input: % X", got)
	}
}

// An unsupported version is reported as such, with the code to send.
func TestReaderVersionError(t *testing.T) {
	r := doip.NewReader(bytes.NewReader(unhex(t, "04 FB 00 05 00 00 00 07 0E 00 00 00 00 00 00")))
	r.Versions = func(v byte) bool { return v == doip.Version2012 }
	_, _, err := r.ReadMessage()
	if !errors.Is(err, doip.HeaderNACKIncorrectPattern) {
		t.Fatalf("err = %v, want %v", err, doip.HeaderNACKIncorrectPattern)
	}
	want := "doip: header v0x04 routing activation request len 7: incorrect pattern format: protocol version 0x04 not supported"
	if err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}
