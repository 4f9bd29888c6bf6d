package can

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// newVirtual attaches a node to bus name over nc; it is closed when the
// test ends.
func newVirtual(tb testing.TB, nc *nats.Conn, name string, opts ...Option) *Virtual {
	tb.Helper()
	v, err := NewVirtual(nc, name, opts...)
	if err != nil {
		tb.Fatalf("NewVirtual: %v", err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return v
}

// recv receives one frame, failing the test after 5 s.
func recv(tb testing.TB, b Bus) Received {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := b.Recv(ctx)
	if err != nil {
		tb.Fatalf("Recv: %v", err)
	}
	return r
}

// send sends f, failing the test on an error.
func send(tb testing.TB, b Bus, f Frame) {
	tb.Helper()
	if err := b.Send(context.Background(), f); err != nil {
		tb.Fatalf("Send(%v): %v", f, err)
	}
}

// expectNothing checks that b has no frame queued, after a round trip
// through the server makes sure that nothing is still on its way.
func expectNothing(tb testing.TB, nc *nats.Conn, b Bus) {
	tb.Helper()
	if err := nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if r, err := b.Recv(ctx); err == nil {
		tb.Fatalf("unexpected frame %v", r.Frame)
	}
}

func TestVirtualExchange(t *testing.T) {
	s := startNATS(t)
	nc1, nc2 := connect(t, s), connect(t, s)
	a := newVirtual(t, nc1, "bus0")
	b := newVirtual(t, nc2, "bus0")
	other := newVirtual(t, nc2, "bus1")

	req := frame(0x7E0, 0x02, 0x10, 0x03)
	before := time.Now()
	send(t, a, req)
	r := recv(t, b)
	if r.Frame != req {
		t.Errorf("b received %v, want %v", r.Frame, req)
	}
	if r.Time.Before(before) || r.Time.After(time.Now()) {
		t.Errorf("receive time %v is not the time of arrival", r.Time)
	}

	resp := extended(fd(frame(0x18DAF1E8, seq(12)...), true, false))
	send(t, b, resp)
	if r := recv(t, a); r.Frame != resp {
		t.Errorf("a received %v, want %v", r.Frame, resp)
	}

	// Neither node hears itself, and bus1 hears nothing of bus0.
	expectNothing(t, nc1, a)
	expectNothing(t, nc2, b)
	expectNothing(t, nc2, other)

	if st := a.Stats(); st.Sent != 1 || st.Received != 1 || st.Malformed != 0 || st.Dropped != 0 {
		t.Errorf("a stats = %+v", st)
	}
}

func TestVirtualSameConnection(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	a := newVirtual(t, nc, "shared")
	b := newVirtual(t, nc, "shared")
	f := frame(0x100, 1, 2, 3)
	send(t, a, f)
	if r := recv(t, b); r.Frame != f {
		t.Errorf("b received %v, want %v", r.Frame, f)
	}
	expectNothing(t, nc, a)
}

func TestVirtualOrder(t *testing.T) {
	s := startNATS(t)
	a := newVirtual(t, connect(t, s), "order")
	b := newVirtual(t, connect(t, s), "order")
	const n = 2000
	go func() {
		for i := range n {
			if err := a.Send(context.Background(), frame(uint32(i&0x7FF), byte(i), byte(i>>8))); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
		}
	}()
	for i := range n {
		r := recv(t, b)
		if want := frame(uint32(i&0x7FF), byte(i), byte(i>>8)); r.Frame != want {
			t.Fatalf("frame %d = %v, want %v", i, r.Frame, want)
		}
	}
}

func TestVirtualInjectedFrame(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	b := newVirtual(t, connect(t, s), "bus0")
	// What "nats pub can.bus0 '7E0#023E80'" does: no header.
	if err := nc.Publish("can.bus0", []byte("7E0#023E80")); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, b); r.Frame != frame(0x7E0, 0x02, 0x3E, 0x80) {
		t.Errorf("received %v", r.Frame)
	}
	// A message with another node's header is received too.
	msg := &nats.Msg{Subject: "can.bus0", Header: nats.Header{NodeHeader: []string{"someone-else"}}, Data: []byte("123#R")}
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, b); r.Frame != remote(0x123, 0) {
		t.Errorf("received %v", r.Frame)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestVirtualMalformed(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	b := newVirtual(t, connect(t, s), "bus0", WithLogger(logger))
	for _, bad := range []string{"garbage", "", "123#ABC", "800#00", "20000000#00", "123#112233445566778899"} {
		if err := nc.Publish("can.bus0", []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Publish("can.bus0", []byte("321#CAFE")); err != nil {
		t.Fatal(err)
	}
	// The bus keeps working: the good frame after the bad ones arrives.
	if r := recv(t, b); r.Frame != frame(0x321, 0xCA, 0xFE) {
		t.Errorf("received %v", r.Frame)
	}
	if st := b.Stats(); st.Malformed != 6 || st.Received != 1 {
		t.Errorf("stats = %+v, want 6 malformed, 1 received", st)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "malformed") || !strings.Contains(out, "bus=bus0") {
		t.Errorf("log does not report the malformed message:\n%s", out)
	}
	// Logging is rate limited: six bad messages, one record.
	if n := strings.Count(out, "malformed"); n != 1 {
		t.Errorf("%d log records for a burst of malformed messages, want 1:\n%s", n, out)
	}
}

func TestVirtualFilters(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	a := newVirtual(t, nc, "bus0")
	b := newVirtual(t, connect(t, s), "bus0", WithFilters(
		Filter{ID: 0x7E8, Mask: 0x7F8 | EFFFlag | RTRFlag},           // standard 7E8–7EF data frames
		Filter{ID: 0x18DAF100 | EFFFlag, Mask: 0x1FFFFF00 | EFFFlag}, // extended 18DAF1xx
	))
	frames := []struct {
		f    Frame
		pass bool
	}{
		{frame(0x7E0, 1), false},
		{frame(0x7E8, 2), true},
		{frame(0x7EF, 3), true},
		{remote(0x7E8, 0), false},
		{extended(frame(0x7E8, 4)), false},
		{extended(frame(0x18DAF110, 5)), true},
		{extended(frame(0x18DA10F1, 6)), false},
		{frame(0x7E9, 7), true},
	}
	var want []Frame
	for _, tt := range frames {
		send(t, a, tt.f)
		if tt.pass {
			want = append(want, tt.f)
		}
	}
	for _, w := range want {
		if r := recv(t, b); r.Frame != w {
			t.Errorf("received %v, want %v", r.Frame, w)
		}
	}
	expectNothing(t, nc, b)
	if st := b.Stats(); st.Filtered != uint64(len(frames)-len(want)) {
		t.Errorf("Filtered = %d, want %d", st.Filtered, len(frames)-len(want))
	}
}

func TestVirtualClose(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	v, err := NewVirtual(nc, "bus0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := v.Recv(context.Background())
		errc <- err
	}()
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Recv returned %v, want ErrClosed", err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := v.Send(context.Background(), frame(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if _, err := v.Recv(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}
	if nc.IsClosed() {
		t.Error("Close closed the caller's NATS connection")
	}
}

// TestVirtualCloseBlockedDelivery closes a node whose queue is full, so
// that its subscription handler is blocked handing over a frame.
func TestVirtualCloseBlockedDelivery(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	a := newVirtual(t, nc, "bus0")
	b, err := NewVirtual(connect(t, s), "bus0", WithQueueSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		send(t, a, frame(uint32(i)))
	}
	recv(t, b) // one frame arrived; the handler now blocks on the rest
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestVirtualConnectionClosed(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	v := newVirtual(t, nc, "bus0")
	nc.Close()
	if err := v.Send(context.Background(), frame(1)); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("Send on closed connection = %v, want nats.ErrConnectionClosed", err)
	}
	if _, err := NewVirtual(nc, "bus1"); err == nil {
		t.Error("NewVirtual on a closed connection succeeded")
	}
}

func TestVirtualSendErrors(t *testing.T) {
	s := startNATS(t)
	v := newVirtual(t, connect(t, s), "bus0")
	if err := v.Send(context.Background(), frame(0x800)); !errors.Is(err, ErrInvalidFrame) {
		t.Errorf("Send(invalid) = %v, want ErrInvalidFrame", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Send(ctx, frame(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Send(canceled ctx) = %v", err)
	}
	if _, err := v.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv(canceled ctx) = %v", err)
	}
	if st := v.Stats(); st.Sent != 0 {
		t.Errorf("Sent = %d after failed sends", st.Sent)
	}
}

func TestNewVirtualErrors(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	tests := []struct {
		name    string
		nc      *nats.Conn
		bus     string
		wantErr error
	}{
		{"nil conn", nil, "bus0", ErrNATSRequired},
		{"empty name", nc, "", ErrInvalidName},
		{"dot", nc, "a.b", ErrInvalidName},
		{"star", nc, "*", ErrInvalidName},
		{"gt", nc, ">", ErrInvalidName},
		{"space", nc, "bus 0", ErrInvalidName},
		{"tab", nc, "bus\t0", ErrInvalidName},
		{"non-ascii", nc, "büs", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVirtual(tt.nc, tt.bus)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("NewVirtual(%q) error = %v, want %v", tt.bus, err, tt.wantErr)
			}
			if v != nil {
				v.Close()
			}
		})
	}
	for _, ok := range []string{"bus0", "BUS-1_test", "can0"} {
		if err := ValidateBusName(ok); err != nil {
			t.Errorf("ValidateBusName(%q) = %v", ok, err)
		}
	}
}

func TestVirtualWireFormat(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	sub, err := nc.SubscribeSync("can.bus7")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	// The subscription is at the server before the other connection sends.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	v := newVirtual(t, connect(t, s), "bus7")
	if v.Name() != "bus7" || v.String() != "virtual:bus7" {
		t.Errorf("Name, String = %q, %q", v.Name(), v.String())
	}
	send(t, v, extended(fd(frame(0x18DAF110, 0xDE, 0xAD), true, false)))
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "18DAF110##1DEAD" {
		t.Errorf("payload = %q, want 18DAF110##1DEAD", m.Data)
	}
	if m.Header.Get(NodeHeader) == "" {
		t.Errorf("no %s header", NodeHeader)
	}
}

// Once the node's NATS connection is closed nothing can arrive: a Recv
// without a deadline returns an error instead of waiting for good.
func TestVirtualRecvEndsWhenTheConnectionCloses(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	v := newVirtual(t, nc, "bus0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := v.Recv(ctx)
		errc <- err
	}()
	nc.Close()
	err := <-errc
	if !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("Recv after the connection closed: %v, want nats.ErrConnectionClosed", err)
	}
}
