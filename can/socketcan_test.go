package can

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	ecan "go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"
)

func TestEinrideConversion(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
		ef   ecan.Frame
	}{
		{"standard", frame(0x7E0, 2, 0x3E, 0x80),
			ecan.Frame{ID: 0x7E0, Length: 3, Data: ecan.Data{2, 0x3E, 0x80}}},
		{"empty", frame(0), ecan.Frame{}},
		{"8 bytes", frame(0x123, seq(8)...),
			ecan.Frame{ID: 0x123, Length: 8, Data: ecan.Data{0, 1, 2, 3, 4, 5, 6, 7}}},
		{"extended", extended(frame(0x18DAF110, 0xAA)),
			ecan.Frame{ID: 0x18DAF110, Length: 1, Data: ecan.Data{0xAA}, IsExtended: true}},
		{"remote", remote(0x123, 8), ecan.Frame{ID: 0x123, Length: 8, IsRemote: true}},
		{"extended remote", Frame{ID: 0x1FFFFFFF, Extended: true, Remote: true, Len: 2},
			ecan.Frame{ID: 0x1FFFFFFF, Length: 2, IsRemote: true, IsExtended: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToEinride(tt.f)
			if err != nil {
				t.Fatalf("ToEinride: %v", err)
			}
			if got != tt.ef {
				t.Errorf("ToEinride = %+v, want %+v", got, tt.ef)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("einride rejects the converted frame: %v", err)
			}
			if back := FromEinride(tt.ef); back != tt.f {
				t.Errorf("FromEinride = %+v, want %+v", back, tt.f)
			}
			if s := tt.ef.String(); s != tt.f.String() {
				t.Errorf("text differs: einride %q, ours %q", s, tt.f.String())
			}
		})
	}

	// A remote frame's data bytes are not carried.
	ef := ecan.Frame{ID: 1, Length: 2, IsRemote: true, Data: ecan.Data{9, 9}}
	if f := FromEinride(ef); f != remote(1, 2) {
		t.Errorf("FromEinride(remote with data) = %+v", f)
	}
}

func TestEinrideConversionErrors(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
		want error
	}{
		{"fd", fd(frame(0x123, 1), false, false), errors.ErrUnsupported},
		{"remote dlc 9", remote(0x123, 9), errors.ErrUnsupported},
		{"invalid", frame(0x800), ErrInvalidFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ToEinride(tt.f); !errors.Is(err, tt.want) {
				t.Errorf("ToEinride error = %v, want %v", err, tt.want)
			}
		})
	}
}

// rawFrame encodes a struct can_frame as the kernel writes it.
func rawFrame(tb testing.TB, f Frame) []byte {
	tb.Helper()
	ef, err := ToEinride(f)
	if err != nil {
		tb.Fatal(err)
	}
	var sf socketcan.Frame
	sf.EncodeFrame(ef)
	b := make([]byte, 16)
	sf.MarshalBinary(b)
	return b
}

// pipeSocketCAN returns a SocketCAN over one end of a pipe and the other
// end, which plays the kernel.
func pipeSocketCAN(t *testing.T, opts ...Option) (*SocketCAN, net.Conn) {
	t.Helper()
	ours, kernel := net.Pipe()
	s := newSocketCAN(ours, "vcan0", buildOptions(opts))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		kernel.Close()
	})
	return s, kernel
}

func TestSocketCANOverPipe(t *testing.T) {
	s, kernel := pipeSocketCAN(t, WithFilters(Filter{ID: 0x700, Mask: 0x700}))
	if s.Interface() != "vcan0" {
		t.Errorf("Interface() = %q", s.Interface())
	}

	// Send writes one struct can_frame.
	sent := extended(frame(0x7E0, 2, 0x3E))
	errc := make(chan error, 1)
	go func() { errc <- s.Send(context.Background(), sent) }()
	buf := make([]byte, 16)
	if _, err := io.ReadFull(kernel, buf); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Send: %v", err)
	}
	var sf socketcan.Frame
	sf.UnmarshalBinary(buf)
	if got := FromEinride(sf.DecodeFrame()); got != sent {
		t.Errorf("wrote %v, want %v", got, sent)
	}

	// Received frames: filtered, error frames skipped.
	errFrame := make([]byte, 16)
	binary.LittleEndian.PutUint32(errFrame, 0x20000004)
	errFrame[4] = 8
	in := [][]byte{
		rawFrame(t, frame(0x123, 1)), // filtered out
		errFrame,                     // error frame, skipped
		rawFrame(t, frame(0x7E8, 2, 0x7E, 0)),
		rawFrame(t, remote(0x7DF, 3)),
	}
	before := time.Now() // before any frame is written
	go func() {
		for _, b := range in {
			if _, err := kernel.Write(b); err != nil {
				return
			}
		}
	}()
	for _, want := range []Frame{frame(0x7E8, 2, 0x7E, 0), remote(0x7DF, 3)} {
		r := recv(t, s)
		if r.Frame != want {
			t.Errorf("received %v, want %v", r.Frame, want)
		}
		if r.Time.Before(before) {
			t.Errorf("receive time %v before the frame was written", r.Time)
		}
	}
}

func TestSocketCANSendErrors(t *testing.T) {
	s, _ := pipeSocketCAN(t)
	if err := s.Send(context.Background(), fd(frame(0x123, 1), true, false)); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Send(FD) = %v, want ErrUnsupported", err)
	}
	if err := s.Send(context.Background(), frame(0x800)); !errors.Is(err, ErrInvalidFrame) {
		t.Errorf("Send(invalid) = %v, want ErrInvalidFrame", err)
	}
	// Nobody reads the pipe: the write deadline from ctx ends the write.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Send(ctx, frame(1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Send with deadline = %v, want os.ErrDeadlineExceeded", err)
	}
}

// TestSocketCANDeadlineCleared checks that a deadline of one Send does
// not outlive it.
func TestSocketCANDeadlineCleared(t *testing.T) {
	s, kernel := pipeSocketCAN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := s.Send(ctx, frame(1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send with deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	go io.Copy(io.Discard, kernel)
	if err := s.Send(context.Background(), frame(2)); err != nil {
		t.Errorf("Send without deadline after a timed-out one = %v", err)
	}
}

func TestSocketCANClose(t *testing.T) {
	ours, kernel := net.Pipe()
	defer kernel.Close()
	s := newSocketCAN(ours, "vcan0", buildOptions(nil))
	errc := make(chan error, 1)
	go func() {
		_, err := s.Recv(context.Background())
		errc <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Recv returned %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Send(context.Background(), frame(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

// TestSocketCANPeerGone checks that Recv reports a connection that ends
// underneath it, after the frames that came before.
func TestSocketCANPeerGone(t *testing.T) {
	s, kernel := pipeSocketCAN(t)
	go func() {
		kernel.Write(rawFrame(t, frame(0x1, 1)))
		kernel.Close()
	}()
	if r := recv(t, s); r.Frame != frame(0x1, 1) {
		t.Errorf("received %v", r.Frame)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Recv(ctx); err == nil || errors.Is(err, ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Recv after the connection ended = %v, want the connection's error", err)
	}
}

func TestDialSocketCANErrors(t *testing.T) {
	tests := []struct {
		name  string
		iface string
		want  error
	}{
		{"empty", "", ErrInvalidName},
		{"too long", "averyveryverylongname", ErrInvalidName},
		{"slash", "can/0", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DialSocketCAN(context.Background(), tt.iface); !errors.Is(err, tt.want) {
				t.Errorf("DialSocketCAN(%q) = %v, want %v", tt.iface, err, tt.want)
			}
		})
	}
	if s, err := DialSocketCAN(context.Background(), "nosuchcan7"); err == nil {
		s.Close()
		t.Error("DialSocketCAN on a missing interface succeeded")
	}
}
