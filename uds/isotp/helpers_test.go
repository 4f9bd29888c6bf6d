package isotp

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

// testCtx returns a context that ends with the test or after 10 s.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// newConn attaches a Conn to h; it is closed when the test ends.
func newConn(tb testing.TB, h *can.Hub, cfg Config) *Conn {
	tb.Helper()
	n := h.Attach()
	c, err := New(n, cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		c.Close()
		n.Close()
	})
	return c
}

// attach attaches a raw node to h, closed when the test ends.
func attach(tb testing.TB, h *can.Hub, filters ...can.Filter) *can.HubNode {
	tb.Helper()
	n := h.Attach(filters...)
	tb.Cleanup(func() { n.Close() })
	return n
}

// peer returns the configuration of the other end of cfg: identifiers,
// addresses and address bytes swapped.
func peer(cfg Config) Config {
	p := cfg
	p.TxID, p.RxID = cfg.RxID, cfg.TxID
	p.SourceAddress, p.TargetAddress = cfg.TargetAddress, cfg.SourceAddress
	return p
}

// payload returns n bytes of a recognisable pattern.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// exchange sends msg from a to b and checks that b receives it.
func exchange(tb testing.TB, ctx context.Context, a, b *Conn, msg []byte) {
	tb.Helper()
	errc := make(chan error, 1)
	go func() { errc <- a.Send(ctx, msg) }()
	got, err := b.Recv(ctx)
	if err != nil {
		tb.Fatalf("Recv: %v", err)
	}
	if err := <-errc; err != nil {
		tb.Fatalf("Send: %v", err)
	}
	if !bytes.Equal(got, msg) {
		tb.Fatalf("received %d bytes, sent %d; first difference at %d", len(got), len(msg), firstDiff(got, msg))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// recvFrame returns the next frame n receives.
func recvFrame(tb testing.TB, ctx context.Context, n can.Bus) can.Frame {
	tb.Helper()
	r, err := n.Recv(ctx)
	if err != nil {
		tb.Fatalf("raw Recv: %v", err)
	}
	return r.Frame
}

// sendFrame sends the frame in cansend text s from n.
func sendFrame(tb testing.TB, ctx context.Context, n can.Bus, s string) {
	tb.Helper()
	f, err := can.ParseFrame(s)
	if err != nil {
		tb.Fatalf("ParseFrame(%q): %v", s, err)
	}
	if err := n.Send(ctx, f); err != nil {
		tb.Fatalf("raw Send: %v", err)
	}
}

// wantErr fails unless err matches target (nil target: no error).
func wantErr(tb testing.TB, what string, err, target error) {
	tb.Helper()
	switch {
	case target == nil && err != nil:
		tb.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		tb.Fatalf("%s: error %v, want %v", what, err, target)
	}
}
