package bus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestBufferedConnWritesReturnAtOnce: unlike net.Pipe's, a write returns
// before the other end reads, and what was written arrives whole, in
// order, also from several writers.
func TestBufferedConnWritesReturnAtOnce(t *testing.T) {
	a, z := net.Pipe()
	defer z.Close()
	c := newBufferedConn(a)
	defer c.Close()
	done := make(chan error, 1)
	go func() { _, err := c.Write([]byte("first")); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write waited for the reader")
	}
	var want bytes.Buffer
	want.WriteString("first")
	var wg sync.WaitGroup
	var mu sync.Mutex // one writer at a time per chunk, as nats.go holds its lock
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				mu.Lock()
				chunk := fmt.Appendf(nil, "<%d:%d>", w, i)
				want.Write(chunk)
				if _, err := c.Write(chunk); err != nil {
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	var got []byte
	buf := make([]byte, 4096)
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			n, err := z.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				return
			}
		}
	}()
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-read
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read %d bytes, want %d, or out of order", len(got), want.Len())
	}
}

// TestBufferedConnBounded: with nobody reading, a writer waits once
// maxBuffered is held (plus what the pump is handing over), and goes on
// when the other end reads.
func TestBufferedConnBounded(t *testing.T) {
	a, z := net.Pipe()
	defer z.Close()
	c := newBufferedConn(a)
	defer c.Close()
	const chunk = 1 << 20
	const total = 3 * maxBuffered
	wrote := make(chan int, 1)
	go func() {
		n := 0
		for n < total {
			k, err := c.Write(make([]byte, chunk))
			n += k
			if err != nil {
				break
			}
		}
		wrote <- n
	}()
	select {
	case n := <-wrote:
		t.Fatalf("wrote %d bytes with nobody reading; want a wait after %d", n, maxBuffered)
	case <-time.After(100 * time.Millisecond):
	}
	n, err := io.CopyN(io.Discard, z, total)
	if err != nil || n != total {
		t.Fatalf("read %d, %v; want %d", n, err, total)
	}
	if n := <-wrote; n != total {
		t.Fatalf("wrote %d, want %d", n, total)
	}
}

// TestBufferedConnFailsAfterThePeerCloses: once the pipe fails, writes
// fail too (nats.go then sees the connection as lost).
func TestBufferedConnFailsAfterThePeerCloses(t *testing.T) {
	a, z := net.Pipe()
	c := newBufferedConn(a)
	defer c.Close()
	z.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("first write: %v, want it buffered", err)
	}
	select {
	case <-c.done: // the pump's write failed: it stops
	case <-time.After(5 * time.Second):
		t.Fatal("the pump still runs 5 s after the peer closed")
	}
	if _, err := c.Write([]byte("y")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("write after the peer closed: %v, want io.ErrClosedPipe", err)
	}
}
