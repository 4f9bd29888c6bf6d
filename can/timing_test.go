package can

import (
	"testing"
	"time"
)

func TestFrameBits(t *testing.T) {
	tests := []struct {
		name          string
		f             Frame
		nominal, data int
	}{
		// Classic: worst cases of Davis et al. (2007), table 1: 55 bits for
		// 0 bytes, 135 for 8 (standard); 80 and 160 (extended).
		{"standard 0 bytes", frame(0x123), 55, 0},
		{"standard 1 byte", frame(0x123, 1), 65, 0},
		{"standard 8 bytes", frame(0x123, seq(8)...), 135, 0},
		{"extended 0 bytes", extended(frame(0x123)), 80, 0},
		{"extended 8 bytes", extended(frame(0x123, seq(8)...)), 160, 0},
		{"remote counts no data", remote(0x123, 8), 55, 0},
		{"extended remote", Frame{ID: 1, Extended: true, Remote: true, Len: 4}, 80, 0},
		// FD: a = 17 → 17+4+12 = 33 nominal; 36 → 36+8+12 = 56.
		{"fd 8 bytes brs", fd(frame(0x123, seq(8)...), true, false), 33, 5 + 64 + 17 + 4 + 17 + 6 + 1},
		{"fd 8 bytes no brs", fd(frame(0x123, seq(8)...), false, false), 33 + 114, 0},
		{"fd 16 bytes brs", fd(frame(0x123, seq(16)...), true, false), 33, 5 + 128 + 33 + 4 + 17 + 6 + 1},
		{"fd 20 bytes brs: crc21", fd(frame(0x123, seq(20)...), true, false), 33, 5 + 160 + 41 + 4 + 21 + 7 + 1},
		{"fd extended 64 bytes brs", extended(fd(frame(0x123, seq(64)...), true, false)), 56, 5 + 512 + 129 + 4 + 21 + 7 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, d := FrameBits(&tt.f)
			if n != tt.nominal || d != tt.data {
				t.Errorf("FrameBits = %d, %d; want %d, %d", n, d, tt.nominal, tt.data)
			}
		})
	}
}

func TestFrameDuration(t *testing.T) {
	f8 := frame(0x123, seq(8)...)
	fd64 := fd(frame(0x123, seq(64)...), true, false)
	tests := []struct {
		name          string
		f             Frame
		bitrate, data int
		want          time.Duration
	}{
		{"135 bits at 500k", f8, 500_000, 0, 270 * time.Microsecond},
		{"135 bits at 1M", f8, 1_000_000, 0, 135 * time.Microsecond},
		{"135 bits at 125k", f8, 125_000, 0, 1080 * time.Microsecond},
		{"rounded up", f8, 3, 0, 45 * time.Second},
		{"fd 500k/2M", fd64, 500_000, 2_000_000, 66*time.Microsecond + 339500*time.Nanosecond},
		{"fd data rate defaults to nominal", fd64, 500_000, 0, 66*time.Microsecond + 1358*time.Microsecond},
		{"no bitrate", f8, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FrameDuration(&tt.f, tt.bitrate, tt.data); got != tt.want {
				t.Errorf("FrameDuration = %v, want %v", got, tt.want)
			}
		})
	}
}
