package can

import (
	"context"
	"testing"
	"time"
)

// reportFrames reports the frames/s metric for n frames in d.
func reportFrames(b *testing.B, n int, d time.Duration) {
	if d > 0 {
		b.ReportMetric(float64(n)/d.Seconds(), "frames/s")
	}
}

// BenchmarkHubFrames sends frames from one node to another over an
// unpaced hub, with a receiver draining them concurrently.
func BenchmarkHubFrames(b *testing.B) {
	h := NewHub()
	tx, rx := h.Attach(), h.Attach()
	defer tx.Close()
	defer rx.Close()
	f := frame(0x7E0, 0x02, 0x3E, 0x80, 0, 0, 0, 0, 0)
	ctx := context.Background()
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() {
		for range b.N {
			if _, err := rx.Recv(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if err := tx.Send(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	reportFrames(b, b.N, time.Since(start))
}

// BenchmarkVirtualFrames sends frames one way over the virtual bus through
// an in-process NATS server, each node on its own connection; the time
// ends when the receiver has all of them.
func BenchmarkVirtualFrames(b *testing.B) {
	s := startNATS(b)
	tx := newVirtual(b, connect(b, s), "bench")
	rx := newVirtual(b, connect(b, s), "bench", WithQueueSize(1<<16))
	f := frame(0x7E0, 0x02, 0x3E, 0x80, 0, 0, 0, 0, 0)
	ctx := context.Background()
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() {
		for range b.N {
			if _, err := rx.Recv(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if err := tx.Send(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		b.Fatalf("receiver got too few frames; stats %+v", rx.Stats())
	}
	reportFrames(b, b.N, time.Since(start))
	if st := rx.Stats(); st.Dropped != 0 || st.Malformed != 0 {
		b.Errorf("receiver stats %+v", st)
	}
}

func BenchmarkParseFrame(b *testing.B) {
	for _, s := range []string{"7E0#023E800000000000", "18DAF110##1" + "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"} {
		b.Run(s[:3], func(b *testing.B) {
			in := []byte(s)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			var f Frame
			for b.Loop() {
				if err := f.UnmarshalText(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFormatFrame(b *testing.B) {
	for _, f := range []Frame{frame(0x7E0, 0x02, 0x3E, 0x80, 0, 0, 0, 0, 0), extended(fd(frame(0x18DAF110, seq(32)...), true, false))} {
		b.Run(f.String()[:3], func(b *testing.B) {
			buf := make([]byte, 0, maxTextLen)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = f.AppendText(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
