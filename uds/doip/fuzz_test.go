package doip_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/bgkit/bgkit/uds/doip"
)

// goldenSeeds passes every golden vector to add.
func goldenSeeds(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	for _, name := range files {
		text, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(unhex(f, string(text)))
	}
}

// FuzzDecodeMessage checks that DecodeMessage never panics, fails only
// with the typed errors, and that what it decodes encodes to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	goldenSeeds(f, func(b []byte) { f.Add(b) })
	f.Add([]byte{0x02, 0xFD, 0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0x02, 0xFC})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, m, err := doip.DecodeMessage(b)
		if err != nil {
			_, isHeader := errors.AsType[*doip.HeaderError](err)
			if !isHeader && !errors.Is(err, doip.ErrTruncated) {
				t.Fatalf("untyped error %v", err)
			}
			if m != nil {
				t.Fatalf("message %#v with error", m)
			}
			return
		}
		got, err := doip.MarshalMessage(h.Version, m)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", m, err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip:\n  in % X\n out % X", b, got)
		}
	})
}

// FuzzReader checks that a Reader on arbitrary bytes never panics, ends
// with io.EOF or a typed error, returns only messages within MaxPayload
// (and of version 0x02 when strict), and reads through the stream.
func FuzzReader(f *testing.F) {
	goldenSeeds(f, func(b []byte) { f.Add(b, false, false) })
	f.Add(unhex(f, "02 FD 80 01 00 00 00 06 0E 00 E4 00 3E 80 02 FD 12 34 00 00 00 01 00 02 FD 00 07 00 00 00 00"), false, true)
	f.Add(unhex(f, "02 FD 80 01 00 00 01 00 0E 00 E4 00"), true, false)
	f.Add(unhex(f, "02 FD 00 07 00 00 00 00 04 FB 00 07 00 00 00 00"), false, true)
	const maxPayload = 64
	f.Fuzz(func(t *testing.T, b []byte, oneByte, strict bool) {
		var src io.Reader = bytes.NewReader(b)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		r := doip.NewReader(src)
		r.MaxPayload = maxPayload
		if strict {
			r.Versions = func(v byte) bool { return v == doip.Version2012 }
		}
		// Each call consumes at least a header, so len(b)/8+2 calls reach
		// the end of any input.
		for range len(b)/doip.HeaderLen + 2 {
			h, m, err := r.ReadMessage()
			if err == nil {
				if h.Length > maxPayload || m.PayloadType() != h.Type || strict && h.Version != doip.Version2012 {
					t.Fatalf("header %v for %#v", h, m)
				}
				continue
			}
			if m != nil {
				t.Fatalf("message %#v with error", m)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, doip.ErrTruncated) {
				return
			}
			herr, ok := errors.AsType[*doip.HeaderError](err)
			if !ok {
				t.Fatalf("untyped error %v", err)
			}
			if herr.Code.ClosesSocket() {
				if _, _, again := r.ReadMessage(); again != err {
					t.Fatalf("error not sticky: %v, then %v", err, again)
				}
				return
			}
		}
		t.Fatalf("no end after %d reads of %d bytes", len(b)/doip.HeaderLen+2, len(b))
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	in := unhex(b, "02 FD 80 01 00 00 00 06 0E 00 E4 00 3E 80")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := doip.DecodeMessage(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	m := doip.DiagnosticMessage{SourceAddress: 0x0E00, TargetAddress: 0x1001, Data: make([]byte, 4096)}
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	b.SetBytes(int64(doip.HeaderLen + 4 + len(m.Data)))
	for b.Loop() {
		var err error
		if buf, err = doip.AppendMessage(buf[:0], doip.Version2012, m); err != nil {
			b.Fatal(err)
		}
	}
}
