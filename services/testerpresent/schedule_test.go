package testerpresent

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bgkit/bgkit/internal/deadline"
)

// fakeClock is a clock whose time moves only when the schedule waits or a
// test hook advances it, so a schedule runs synchronously.
type fakeClock struct {
	t time.Time
	// oversleep, if set, is added to a wait that had to wait, as a real
	// timer wakes up late; i counts the waits.
	oversleep func(i int) time.Duration
	waits     int
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (f *fakeClock) clock() clock {
	return clock{
		now: func() time.Time { return f.t },
		waitUntil: func(ctx context.Context, t time.Time, wake <-chan struct{}) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			select {
			case <-wake:
				return deadline.ErrWoken
			default:
			}
			if t.After(f.t) {
				f.t = t
				if f.oversleep != nil {
					f.t = f.t.Add(f.oversleep(f.waits))
				}
			}
			f.waits++
			return nil
		},
	}
}

// tickRecord is one tick of a schedule under test.
type tickRecord struct {
	at       time.Time // fake time of the tick
	lateness time.Duration
}

// fakeRun runs a schedule on fc until it ticked n times. onTick runs after
// each tick with its index; it may advance fc.t (the send took time) or
// change the interval through setIv.
func fakeRun(fc *fakeClock, iv time.Duration, n int,
	onTick func(i int, setIv func(time.Duration))) (ticks []tickRecord, skipped int64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	setIv := func(d time.Duration) {
		iv = d
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	s := &schedule{
		clk:      fc.clock(),
		interval: func() time.Duration { return iv },
		wake:     wake,
		tick: func(_ context.Context, lateness time.Duration) {
			ticks = append(ticks, tickRecord{at: fc.t, lateness: lateness})
			if onTick != nil {
				onTick(len(ticks)-1, setIv)
			}
			if len(ticks) == n {
				cancel()
			}
		},
		skip: func(k int64) { skipped += k },
	}
	s.run(ctx)
	return ticks, skipped
}

// TestScheduleNoDrift runs many periods with timers that wake up late and
// sends that take time: every request stays on its deadline base + k·iv,
// off by only the last wake-up's error, which never adds up.
func TestScheduleNoDrift(t *testing.T) {
	tests := []struct {
		name string
		iv   time.Duration
		n    int
	}{
		{name: "10ms for an hour", iv: 10 * time.Millisecond, n: 360_000},
		{name: "2s for ten hours", iv: 2 * time.Second, n: 18_000},
		{name: "1ms", iv: time.Millisecond, n: 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			// Wake-up error and send time together stay below half a
			// period, so nothing is skipped.
			maxErr := tt.iv / 5
			fc := &fakeClock{t: epoch, oversleep: func(int) time.Duration { return time.Duration(rng.Int64N(int64(maxErr))) }}
			ticks, skipped := fakeRun(fc, tt.iv, tt.n, func(int, func(time.Duration)) {
				fc.t = fc.t.Add(time.Duration(rng.Int64N(int64(maxErr))))
			})
			if skipped != 0 {
				t.Errorf("skipped %d periods", skipped)
			}
			var sumLate time.Duration
			for k, tk := range ticks {
				deadline := epoch.Add(time.Duration(k) * tt.iv)
				if got := tk.at.Add(-tk.lateness); !got.Equal(deadline) {
					t.Fatalf("tick %d at %v with lateness %v: deadline %v, want %v",
						k, tk.at.Sub(epoch), tk.lateness, got.Sub(epoch), deadline.Sub(epoch))
				}
				if tk.lateness < 0 || tk.lateness >= maxErr {
					t.Fatalf("tick %d lateness %v outside [0, %v)", k, tk.lateness, maxErr)
				}
				sumLate += tk.lateness
			}
			// The mean period over the whole run is the interval, off by
			// no more than one wake-up error spread over all periods.
			last := ticks[len(ticks)-1].at
			mean := last.Sub(ticks[0].at) / time.Duration(len(ticks)-1)
			if d := (mean - tt.iv).Abs(); d > maxErr/time.Duration(len(ticks)-1)+1 {
				t.Errorf("mean period %v, want %v (off by %v)", mean, tt.iv, d)
			}
			if sumLate == 0 {
				t.Error("no lateness at all: the fake clock did not oversleep")
			}
		})
	}
}

// TestScheduleNoBurst stalls one send (or one wake-up) and checks where
// the following requests go: a deadline missed by less than half a period
// is sent late, anything later is skipped to the next deadline not yet
// past, and no two requests are ever closer than half a period.
func TestScheduleNoBurst(t *testing.T) {
	const iv = 10 * time.Millisecond
	ms := func(v ...float64) []time.Duration {
		var ds []time.Duration
		for _, x := range v {
			ds = append(ds, time.Duration(x*float64(time.Millisecond)))
		}
		return ds
	}
	tests := []struct {
		name      string
		stall     time.Duration // how long the send at 30 ms takes
		oversleep time.Duration // how late the wake-up for 40 ms is
		want      []time.Duration
		wantSkip  int64
	}{
		{name: "on time", want: ms(0, 10, 20, 30, 40, 50, 60)},
		{name: "slow send within the period", stall: 9 * time.Millisecond, want: ms(0, 10, 20, 30, 40, 50, 60)},
		{name: "late by 0.3 periods", stall: 13 * time.Millisecond, want: ms(0, 10, 20, 30, 43, 50, 60)},
		{name: "late by 0.7 periods", stall: 17 * time.Millisecond, want: ms(0, 10, 20, 30, 47, 57, 67)},
		{name: "late by exactly one period", stall: 20 * time.Millisecond, want: ms(0, 10, 20, 30, 50, 60, 70), wantSkip: 1},
		{name: "late by 2.5 periods", stall: 35 * time.Millisecond, want: ms(0, 10, 20, 30, 65, 75, 85), wantSkip: 2},
		{name: "stall of a minute", stall: time.Minute, want: ms(0, 10, 20, 30, 60030, 60040, 60050), wantSkip: 5999},
		{name: "wake-up 4ms late", oversleep: 4 * time.Millisecond, want: ms(0, 10, 20, 30, 44, 50, 60)},
		{name: "wake-up 7ms late", oversleep: 7 * time.Millisecond, want: ms(0, 10, 20, 30, 47, 57, 67)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeClock{t: epoch}
			fc.oversleep = func(int) time.Duration {
				if fc.t.Equal(epoch.Add(40 * time.Millisecond)) {
					return tt.oversleep
				}
				return 0
			}
			ticks, skipped := fakeRun(fc, iv, len(tt.want), func(i int, _ func(time.Duration)) {
				if i == 3 {
					fc.t = fc.t.Add(tt.stall)
				}
			})
			var got []time.Duration
			for _, tk := range ticks {
				got = append(got, tk.at.Sub(epoch))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ticks at %v, want %v", got, tt.want)
			}
			if skipped != tt.wantSkip {
				t.Errorf("skipped %d, want %d", skipped, tt.wantSkip)
			}
			for i := 1; i < len(got); i++ {
				if gap := got[i] - got[i-1]; gap < iv/2 {
					t.Errorf("ticks %d and %d only %v apart", i-1, i, gap)
				}
				// A keep-alive: after a stall the next request goes out at
				// once, not an interval later (the ECU's S3 timer runs).
				if gap := got[i] - got[i-1]; gap > max(iv+tt.oversleep, tt.stall) {
					t.Errorf("ticks %d and %d %v apart, more than the interval or the stall", i-1, i, gap)
				}
			}
		})
	}
}

// TestScheduleSetInterval changes the interval after the tick at 20 ms:
// the next tick is due one new interval after that tick's deadline.
func TestScheduleSetInterval(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range v {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	tests := []struct {
		name     string
		newIv    time.Duration
		sendTime time.Duration // of the tick at 20 ms
		want     []time.Duration
		wantSkip int64
	}{
		{name: "longer", newIv: 25 * time.Millisecond, want: ms(0, 10, 20, 45, 70, 95)},
		{name: "shorter", newIv: 4 * time.Millisecond, want: ms(0, 10, 20, 24, 28, 32)},
		{name: "same", newIv: 10 * time.Millisecond, want: ms(0, 10, 20, 30, 40, 50)},
		{name: "shorter, late by less than half", newIv: 4 * time.Millisecond, sendTime: 5 * time.Millisecond,
			want: ms(0, 10, 20, 25, 28, 32)},
		{name: "shorter, already past", newIv: 3 * time.Millisecond, sendTime: 8 * time.Millisecond,
			want: ms(0, 10, 20, 28, 31, 34), wantSkip: 1}, // 23 skipped, 26 sent late
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeClock{t: epoch}
			ticks, skipped := fakeRun(fc, 10*time.Millisecond, len(tt.want), func(i int, setIv func(time.Duration)) {
				if i == 2 {
					fc.t = fc.t.Add(tt.sendTime)
					setIv(tt.newIv)
				}
			})
			var got []time.Duration
			for _, tk := range ticks {
				got = append(got, tk.at.Sub(epoch))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ticks at %v, want %v", got, tt.want)
			}
			if skipped != tt.wantSkip {
				t.Errorf("skipped %d, want %d", skipped, tt.wantSkip)
			}
		})
	}
}

// TestScheduleSetIntervalBeforeFirstTick: a change before the first tick
// keeps the first deadline (the start).
func TestScheduleSetIntervalBeforeFirstTick(t *testing.T) {
	fc := &fakeClock{t: epoch}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	var ticks []time.Duration
	iv := 10 * time.Millisecond
	s := &schedule{
		clk: fc.clock(),
		interval: func() time.Duration {
			defer func() { iv = 7 * time.Millisecond }() // changed after the first read
			return iv
		},
		wake: wake,
		tick: func(context.Context, time.Duration) {
			ticks = append(ticks, fc.t.Sub(epoch))
			if len(ticks) == 3 {
				cancel()
			}
		},
		skip: func(int64) { t.Error("skipped") },
	}
	s.run(ctx)
	if want := []time.Duration{0, 7 * time.Millisecond, 14 * time.Millisecond}; !slices.Equal(ticks, want) {
		t.Errorf("ticks at %v, want %v", ticks, want)
	}
}

func TestLatencies(t *testing.T) {
	tests := []struct {
		name                   string
		samples                []time.Duration
		wantP50, wantP99, wMax time.Duration
	}{
		{name: "none"},
		{name: "one", samples: []time.Duration{7}, wantP50: 7, wantP99: 7, wMax: 7},
		{name: "1 to 100", samples: seq(1, 100), wantP50: 50, wantP99: 99, wMax: 100},
		{name: "100 to 1", samples: reversed(seq(1, 100)), wantP50: 50, wantP99: 99, wMax: 100},
		{
			// The window keeps the last latencyWindow samples; the maximum
			// covers all of them.
			name:    "wrapped",
			samples: append([]time.Duration{1e6}, seq(1, latencyWindow)...),
			wantP50: latencyWindow / 2, wantP99: (99*latencyWindow + 99) / 100, wMax: 1e6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l latencies
			for _, d := range tt.samples {
				l.add(d)
			}
			p50, p99, maximum := l.percentiles()
			if p50 != tt.wantP50 || p99 != tt.wantP99 || maximum != tt.wMax {
				t.Errorf("p50 %v p99 %v max %v, want %v %v %v", p50, p99, maximum, tt.wantP50, tt.wantP99, tt.wMax)
			}
		})
	}
}

func reversed(s []time.Duration) []time.Duration {
	slices.Reverse(s)
	return s
}

func seq(from, to int) []time.Duration {
	var s []time.Duration
	for i := from; i <= to; i++ {
		s = append(s, time.Duration(i))
	}
	return s
}
