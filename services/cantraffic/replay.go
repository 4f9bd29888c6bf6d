package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"

	"github.com/bgkit/bgkit/internal/deadline"
)

// ReplayArgs selects the replay of a candump log file.
type ReplayArgs struct {
	// File is the candump log (candump -l, or the recorder's file).
	File string `json:"file" validate:"required" doc:"candump log file to replay (candump -l, or a can-recorder file)." example:"drive.log"`
	// Speed divides the recorded time between frames: 2 replays twice as
	// fast. Default 1.
	Speed float64 `json:"speed" validate:"gte=0,lte=1000000" doc:"Speed factor: 2 replays twice as fast as recorded; 0 means the default." default:"1"`
	// Loops is how many times the file is replayed; 0 (the default) means
	// forever. A loop starts right after the last frame of the one before.
	Loops int `json:"loops" validate:"gte=0" doc:"Times the file is replayed; 0: forever." default:"0"`
	// Interface, when set, replays only the entries of that interface
	// ("can0"); by default every entry is sent, whatever its interface.
	Interface string `json:"interface" doc:"Replay only the entries of this interface (e.g. can0); empty: every entry." default:"\"\" (every entry)"`
}

// ReplayStats describes the replay in Stats.
type ReplayStats struct {
	File  string  `json:"file" doc:"candump log file being replayed."`
	Speed float64 `json:"speed" doc:"Speed factor."`
	Loops int     `json:"loops" doc:"Loops to do; 0: forever."`
	// LoopsDone counts the loops completed since the service started.
	LoopsDone uint64 `json:"loops_done" doc:"Loops completed since the service started."`
	// Frames is the number of frames in one loop.
	Frames int `json:"frames" doc:"Frames in one loop."`
	// ErrorFrames is the number of error frames in one loop (candump -e
	// logs them): they report a controller's errors, not traffic, and are
	// skipped.
	ErrorFrames int `json:"error_frames" doc:"Error frames in one loop (candump -e), skipped."`
}

// checkReplay reads the whole file once, so that a missing file or a bad
// line is an error of New rather than of a run; it returns how many
// frames one loop sends, and how many error frames it skips.
func checkReplay(r *ReplayArgs) (n, errorFrames int, err error) {
	if math.IsNaN(r.Speed) || r.Speed < 0 {
		return 0, 0, fmt.Errorf("speed %v: want a positive factor", r.Speed)
	}
	f, err := os.Open(r.File)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	lr := can.NewLogReader(f)
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, can.ErrErrorFrame) {
			if r.Interface == "" || e.Interface == r.Interface {
				errorFrames++
			}
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", r.File, err)
		}
		if r.Interface == "" || e.Interface == r.Interface {
			n++
		}
	}
	if n == 0 {
		if r.Interface != "" {
			return 0, 0, fmt.Errorf("%s: no frames of interface %s", r.File, r.Interface)
		}
		return 0, 0, fmt.Errorf("%s: no frames", r.File)
	}
	return n, errorFrames, nil
}

// replayRunner is the replay mode.
type replayRunner struct {
	s           *CANTrafficService
	args        ReplayArgs
	frames      int // frames in one loop
	errorFrames int // error frames in one loop, skipped
	loopsDone   atomic.Uint64
}

// normalize applies the defaults.
func (r *ReplayArgs) normalize() {
	if r.Speed == 0 {
		r.Speed = 1
	}
}

func newReplayRunner(s *CANTrafficService, a *ReplayArgs) (*replayRunner, error) {
	if a.Loops < 0 {
		return nil, errors.New("replay: loops must not be negative")
	}
	n, errorFrames, err := checkReplay(a)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if errorFrames > 0 {
		slog.Info("replay: error frames are skipped", "file", a.File, "error_frames", errorFrames)
	}
	return &replayRunner{s: s, args: *a, frames: n, errorFrames: errorFrames}, nil
}

func (r *replayRunner) mode() string { return ModeReplay }

func (r *replayRunner) prepare() (func(context.Context) string, error) {
	f, err := os.Open(r.args.File)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return func(ctx context.Context) string { return r.runReplay(ctx, f) }, nil
}

func (r *replayRunner) stats(st *Stats) {
	a := &r.args
	st.Replay = &ReplayStats{File: a.File, Speed: a.Speed, Loops: a.Loops, LoopsDone: r.loopsDone.Load(), Frames: r.frames,
		ErrorFrames: r.errorFrames}
}

// runReplay sends the entries of f at the recorded times, relative to the
// first, divided by the speed factor. Deadlines are absolute (the start
// of the loop plus the scaled offset), so timing errors do not add up.
func (rr *replayRunner) runReplay(ctx context.Context, f *os.File) string {
	defer f.Close()
	s, r := rr.s, &rr.args
	base := time.Now()
	for loop := 0; r.Loops == 0 || loop < r.Loops; loop++ {
		if loop > 0 {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				s.fail(fmt.Errorf("replay %s: %w", r.File, err))
				return ""
			}
		}
		if ctx.Err() != nil {
			return ""
		}
		lr := can.NewLogReader(f)
		var t0 time.Time
		first := true
		last := base
		for {
			e, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, can.ErrErrorFrame) {
				continue // counted by New
			}
			if errors.Is(err, can.ErrSyntax) { // changed since New: skip the line
				s.fail(fmt.Errorf("replay %s: %w", r.File, err))
				continue
			}
			if err != nil {
				s.fail(fmt.Errorf("replay %s: %w", r.File, err))
				return ""
			}
			if r.Interface != "" && e.Interface != r.Interface {
				continue
			}
			if first {
				t0, first = e.Time, false
			}
			due := base.Add(scaled(e.Time.Sub(t0), r.Speed))
			if err := deadline.Until(ctx, due, nil); err != nil {
				return ""
			}
			last = due
			_ = s.send(ctx, e.Frame)
			if ctx.Err() != nil {
				return ""
			}
		}
		if first { // no frame to send: the file changed since New
			s.fail(fmt.Errorf("replay %s: no frames", r.File))
			return ""
		}
		rr.loopsDone.Add(1)
		base = last
	}
	return EndLoops
}

// scaled is d divided by speed, saturated to the range of time.Duration:
// a tiny speed must not overflow a far deadline into the past.
func scaled(d time.Duration, speed float64) time.Duration {
	v := float64(d) / speed
	switch {
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(v)
}
