package can

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestHubExchange(t *testing.T) {
	h := NewHub()
	a, b := h.Attach(), h.Attach()
	filtered := h.Attach(Filter{ID: 0x7E8, Mask: 0x7FF})
	defer a.Close()
	defer b.Close()
	defer filtered.Close()

	send(t, a, frame(0x7E0, 1))
	send(t, b, frame(0x7E8, 2))
	if r := recv(t, b); r.Frame != frame(0x7E0, 1) {
		t.Errorf("b received %v", r.Frame)
	}
	if r := recv(t, a); r.Frame != frame(0x7E8, 2) {
		t.Errorf("a received %v", r.Frame)
	}
	if r := recv(t, filtered); r.Frame != frame(0x7E8, 2) {
		t.Errorf("filtered node received %v", r.Frame)
	}
	for _, n := range []*HubNode{a, b, filtered} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		if r, err := n.Recv(ctx); err == nil {
			t.Errorf("unexpected frame %v", r.Frame)
		}
		cancel()
	}
}

func TestHubClose(t *testing.T) {
	h := NewHub(WithBitrate(500_000))
	a := h.Attach()
	errc := make(chan error, 1)
	go func() {
		_, err := a.Recv(context.Background())
		errc <- err
	}()
	a.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close = %v", err)
	}
	if err := a.Send(context.Background(), frame(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestHubBitrate sends frames back to back over a paced hub and checks that
// they take at least the time the bit model gives, both by the clock and
// by the receive times.
func TestHubBitrate(t *testing.T) {
	tests := []struct {
		name        string
		bitrate     int
		dataBitrate int
		frame       Frame
		n           int
	}{
		{"classic 8 bytes at 500k", 500_000, 0, frame(0x123, seq(8)...), 60},
		{"extended 8 bytes at 250k", 250_000, 0, extended(frame(0x18DAF110, seq(8)...)), 30},
		{"remote at 125k", 125_000, 0, remote(0x7DF, 8), 30},
		{"fd 64 bytes with brs at 500k/2M", 500_000, 2_000_000, fd(frame(0x123, seq(64)...), true, false), 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHub(WithBitrate(tt.bitrate), WithDataBitrate(tt.dataBitrate))
			tx, rx := h.Attach(), h.Attach()
			defer tx.Close()
			defer rx.Close()
			per := FrameDuration(&tt.frame, tt.bitrate, tt.dataBitrate)
			model := time.Duration(tt.n) * per

			start := time.Now()
			for range tt.n {
				send(t, tx, tt.frame)
			}
			elapsed := time.Since(start)
			if elapsed < model {
				t.Errorf("%d frames took %v, less than the modelled %v", tt.n, elapsed, model)
			}
			var last time.Time
			for i := range tt.n {
				r := recv(t, rx)
				if i == 0 {
					if d := r.Time.Sub(start); d < per {
						t.Errorf("first frame stamped %v after the start, before its %v on the bus", d, per)
					}
				} else if d := r.Time.Sub(last); d < per {
					t.Errorf("frame %d stamped %v after the previous one, less than its %v on the bus", i, d, per)
				}
				last = r.Time
			}
			if last.After(time.Now()) {
				t.Errorf("frame stamped in the future: %v", last)
			}
		})
	}
}

// TestHubBitrateConcurrent sends from several nodes at once: the bus
// carries one frame at a time, so the total time is the sum of all frames.
func TestHubBitrateConcurrent(t *testing.T) {
	const senders, each = 3, 20
	h := NewHub(WithBitrate(1_000_000))
	rx := h.Attach()
	defer rx.Close()
	f := frame(0x100, seq(8)...)
	per := FrameDuration(&f, 1_000_000, 0)

	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		n := h.Attach()
		defer n.Close()
		wg.Go(func() {
			for range each {
				if err := n.Send(context.Background(), f); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if elapsed, model := time.Since(start), senders*each*per; elapsed < model {
		t.Errorf("%d frames took %v, less than the modelled %v", senders*each, elapsed, model)
	}
	var last time.Time
	for i := range senders * each {
		r := recv(t, rx)
		if i > 0 && r.Time.Sub(last) < per {
			t.Errorf("frames %d and %d overlap on the bus: %v apart", i-1, i, r.Time.Sub(last))
		}
		last = r.Time
	}
}

func TestHubBitrateCancel(t *testing.T) {
	h := NewHub(WithBitrate(10)) // 10 bit/s: a frame takes seconds
	a := h.Attach()
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.Send(ctx, frame(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want DeadlineExceeded", err)
	}
	// The bus is free again for the next sender.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := a.Send(ctx2, frame(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Send = %v, want DeadlineExceeded", err)
	}
}

// TestHubUnpacedDefault: without WithBitrate, frames pass as fast as the
// nodes exchange them. Judged by the receive stamps, which a hub takes at
// Send: paced at any bitrate up to 1 Mbit/s, no two frames would be
// stamped closer than a frame's time at 1 Mbit/s (112 µs, exact); unpaced,
// most are microseconds apart. Half of the spacings may be longer, when
// the sending loop is stalled by the load of the machine (a bound on the
// time of all 1000 sends would fail on one long stall).
func TestHubUnpacedDefault(t *testing.T) {
	h := NewHub()
	a, b := h.Attach(), h.Attach()
	defer a.Close()
	defer b.Close()
	f := frame(0x123, seq(8)...)
	per := FrameDuration(&f, 1_000_000, 0)
	const n = 1000
	for range n {
		send(t, a, f)
	}
	tight := 0
	var last time.Time
	for i := range n {
		r := recv(t, b)
		if i > 0 && r.Time.Sub(last) < per {
			tight++
		}
		last = r.Time
	}
	if tight < n/2 {
		t.Errorf("%d of %d unpaced frames were stamped less than %v (a frame at 1 Mbit/s) after the previous one, want most", tight, n-1, per)
	}
}
