package spawn

import (
	"context"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestLifelineClosed: a child decides its parent is gone (and kills its
// own process group) only at the lifeline's EOF. Terminate's stop
// request is a byte on the lifeline: a lifeline with that byte unread
// and its writer open is not closed.
func TestLifelineClosed(t *testing.T) {
	fd, w := lifelinePipe(t)
	if lifelineClosed(fd, 0) {
		t.Fatal("an empty lifeline with its writer open is closed")
	}
	if _, err := w.Write(stopRequest); err != nil {
		t.Fatal(err)
	}
	if lifelineClosed(fd, 0) {
		t.Fatal("a lifeline with a stop request unread is closed")
	}
	if lifelineClosed(fd, 20*time.Millisecond) {
		t.Fatal("a lifeline with its writer open is closed after a wait")
	}
	if _, err := w.Write(stopRequest); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if !lifelineClosed(fd, 0) {
		t.Fatal("a lifeline whose writer closed (a stop request unread before its EOF) is not closed")
	}
}

// lifelinePipe is a pipe like a child's lifeline: its read end's fd,
// non-blocking, and the write end (the parent's).
func lifelinePipe(t *testing.T) (int, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	fd := int(r.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return fd, w
}

// TestLifelineClosedWaits: with a timeout, the EOF that comes within it
// is seen.
func TestLifelineClosedWaits(t *testing.T) {
	fd, w := lifelinePipe(t)
	_, _ = w.Write(stopRequest)
	go func() {
		time.Sleep(10 * time.Millisecond) // the parent's end closes a moment later
		w.Close()
	}()
	if !lifelineClosed(fd, 5*time.Second) {
		t.Fatal("the EOF within the timeout was not seen")
	}
}

// TestStopRequestOnTheLifeline: the byte Terminate writes on the lifeline
// stops a child by itself (no SIGTERM): a clean exit, its logs flushed,
// and it did not take the readable lifeline for its parent's end (which
// would have killed its own process group).
func TestStopRequestOnTheLifeline(t *testing.T) {
	b := testBus(t)
	h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`),
		WithName("LIFELINE_STOP"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	p := h.current().(*process)
	h.stopping.set() // as Terminate does: the exit is the one asked for
	if _, err := p.boot.Write(stopRequest); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		h.Terminate(context.Background())
		t.Fatal("the child did not stop on the lifeline's request")
	}
	if err := h.Err(); err != nil {
		t.Fatalf("exit after the lifeline's request: %v, want a clean exit", err)
	}
	if !p.Flushed() {
		t.Error("the child did not say its logs were flushed")
	}
}
