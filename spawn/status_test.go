package spawn

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"testing"
)

// TestStatusPipeBounded: what a child writes to its status pipe is read
// in lines of bounded size — a hostile child writing 64 MiB without a
// newline costs its parent little memory — and a status after it is
// still read.
func TestStatusPipeBounded(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{status: r, flushed: make(chan struct{}), statusEOF: make(chan struct{})}
	go func() {
		junk := bytes.Repeat([]byte("x"), 1<<20)
		for range 64 {
			if _, err := w.Write(junk); err != nil {
				break
			}
		}
		w.Write([]byte("\n{\"ready\":true,\"id\":\"X\"}\n"))
		w.Close()
	}()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	first := make(chan status, 1)
	p.readStatus(first)
	runtime.ReadMemStats(&after)
	if st := <-first; !st.Ready || st.ID != "X" {
		t.Fatalf("first status %+v, want ready X", st)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("reading 64 MiB of junk allocated %d MiB", grew>>20)
	}
	r.Close()
}

// TestStatusFlushedTwice: a child that reports its logs flushed twice
// (only a hostile one does) does not crash its parent.
func TestStatusFlushedTwice(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := &process{status: r, flushed: make(chan struct{}), statusEOF: make(chan struct{})}
	go func() {
		w.Write([]byte("{\"ready\":true,\"id\":\"X\"}\n{\"flushed\":true}\n{\"flushed\":true}\n"))
		w.Close()
	}()
	p.readStatus(make(chan status, 1))
	if !p.Flushed() {
		t.Fatal("flushed not reported")
	}
}

// TestFlushedLine: the child's pre-encoded flushed status is what write
// would write, and the parent reads it as flushed.
func TestFlushedLine(t *testing.T) {
	data, err := json.Marshal(status{Flushed: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := string(data) + "\n"; string(flushedLine) != want {
		t.Fatalf("flushedLine = %q, want %q", flushedLine, want)
	}
}
