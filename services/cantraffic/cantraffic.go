package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/internal/deadline"
)

// Kind is the name of the service in rig files and on the command line.
const Kind = "can-traffic"

// Register makes the service spawnable as Kind.
func Register() { spawn.RegisterKind(Kind, New) }

// Defaults of Args.
const (
	DefaultBus   = "virtual:bus0"
	DefaultGapMS = 200 // cangen's default gap
)

// maxGapMS bounds gaps and periods (an hour), so that they convert to a
// time.Duration without overflow.
const maxGapMS = 3600000

// Args configures a CANTrafficService. Zero values mean the defaults.
//
// The service runs in one of three modes: replay when Replay is set,
// cyclic when Cyclic is set, and otherwise the cangen-like generator,
// configured by the fields from GapMS to Seed. The generator's fields must
// be left zero in the other modes.
type Args struct {
	// Bus is the CAN bus: "virtual:bus0" (the default) or "socketcan:can0".
	Bus string `json:"bus"`

	// GapMS is the gap between bursts in milliseconds, decimals allowed
	// (cangen -g). Unset means 200; 0 sends as fast as possible.
	GapMS *float64 `json:"gap_ms,omitempty" validate:"omitnil,gte=0,lte=3600000"`
	// Burst is the number of frames sent back to back after each gap
	// (cangen -c). Default 1.
	Burst int `json:"burst" validate:"gte=0"`
	// Count stops a run after that many frames (cangen -n). Default 0:
	// no limit.
	Count int `json:"count" validate:"gte=0"`
	// IDMode is how identifiers are made (cangen -I): "r" random (the
	// default), "i" incrementing from 0, "e" random even, "o" random odd,
	// or a fixed identifier in hex ("7E0"; write "0E" for the value E).
	IDMode string `json:"id_mode"`
	// LenMode is how payload lengths are made (cangen -L): "r" random (the
	// default, except with fixed data: its length), "i" incrementing, or a
	// fixed length in decimal. CAN FD lengths round up to a valid one.
	LenMode string `json:"len_mode"`
	// DataMode is how payloads are made (cangen -D): "r" random (the
	// default), "i" a little-endian counter in the first 8 bytes, or
	// fixed data in hex where each 'x' is a nibble randomized in every
	// frame ("11xx3344DEADBEEF").
	DataMode string `json:"data_mode"`
	// Extended makes 29-bit identifiers (cangen -e).
	Extended bool `json:"extended"`
	// FD makes CAN FD frames (cangen -f); BRS (-b) and ESI (-E) set those
	// flags and imply FD.
	FD  bool `json:"fd"`
	BRS bool `json:"brs"`
	ESI bool `json:"esi"`
	// RTR makes remote frames (cangen -R; classic frames only).
	RTR bool `json:"rtr"`
	// Mix draws the kind of each frame at random: standard or extended,
	// classic or FD, BRS, ESI, remote (cangen -m).
	Mix bool `json:"mix"`
	// Seed makes random values reproducible: the same seed gives the same
	// frames in every run. 0 (the default) picks a new seed for each run,
	// reported by stats.
	Seed uint64 `json:"seed"`

	// Cyclic is a set of messages, each sent with its own period.
	Cyclic []CyclicMessage `json:"cyclic,omitempty" validate:"dive"`
	// Replay replays a candump log file.
	Replay *ReplayArgs `json:"replay,omitempty"`

	// Autostart starts sending when the service starts. Default false:
	// sending begins on start.
	Autostart bool `json:"autostart"`
}

// Modes, as reported by Stats.Mode.
const (
	ModeGenerator = "generator"
	ModeCyclic    = "cyclic"
	ModeReplay    = "replay"
)

// Stats is the answer of the stats method.
type Stats struct {
	// Mode is "generator", "cyclic" or "replay".
	Mode string `json:"mode"`
	// Running says whether frames are being sent.
	Running bool `json:"running"`
	// Sent counts frames the bus took, since the service started.
	Sent uint64 `json:"sent"`
	// Errors counts frames the bus refused (and, in replay, bad lines).
	Errors uint64 `json:"errors"`
	// FramesPerSecond is the average rate of the current run (of the last
	// one when stopped), since it started or since the last set_gap.
	FramesPerSecond float64 `json:"frames_per_second"`
	// LastError is the message of the last error, "" if none.
	LastError string `json:"last_error,omitempty"`

	Generator *GeneratorStats `json:"generator,omitempty"`
	Cyclic    []CyclicStats   `json:"cyclic,omitempty"`
	Replay    *ReplayStats    `json:"replay,omitempty"`
}

// GeneratorStats describes the generator in Stats.
type GeneratorStats struct {
	GapMS    float64 `json:"gap_ms"`
	Burst    int     `json:"burst"`
	Count    int     `json:"count"`
	IDMode   string  `json:"id_mode"`
	LenMode  string  `json:"len_mode"`
	DataMode string  `json:"data_mode"`
	// Seed is the seed of the current (or last) run: pass it as the seed
	// argument to generate the same frames again.
	Seed uint64 `json:"seed"`
}

// CANTrafficService generates CAN traffic: cangen-like frames, cyclic
// message sets or the replay of a candump log. Its default name is
// CAN_TRAFFIC_SERVICE.
type CANTrafficService struct {
	args   Args
	mode   string
	gen    genConfig
	cyclic []*cyclicMsg
	frames int // frames in one replay loop

	gap  atomic.Int64  // generator gap in ns
	wake chan struct{} // signalled by set_gap

	life context.Context // from Initialize: valid until Shutdown returns
	bus  can.Bus

	mu      sync.Mutex // guards the fields below
	cancel  context.CancelFunc
	done    chan struct{} // closed when the current run's goroutine returns
	seed    uint64        // seed of the current run
	mark    time.Time     // when the rate window started
	markN   uint64        // Sent at mark
	end     time.Time     // when the last run ended (zero while running)
	lastErr string

	sent, errs atomic.Uint64
	loopsDone  atomic.Uint64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// New checks args and returns the service. It applies the defaults; bad
// values are errors naming the argument.
func New(args Args) (*CANTrafficService, error) {
	s := &CANTrafficService{wake: make(chan struct{}, 1)}
	if args.Bus == "" {
		args.Bus = DefaultBus
	}
	if _, err := can.ParseSpec(args.Bus); err != nil {
		return nil, fmt.Errorf("can-traffic: bus: %w", err)
	}
	switch {
	case args.Replay != nil && len(args.Cyclic) > 0:
		return nil, errors.New("can-traffic: cyclic and replay: set one at most")
	case args.Replay != nil:
		s.mode = ModeReplay
	case len(args.Cyclic) > 0:
		s.mode = ModeCyclic
	default:
		s.mode = ModeGenerator
	}
	if s.mode != ModeGenerator {
		if f := generatorField(&args); f != "" {
			return nil, fmt.Errorf("can-traffic: %s is a generator argument; it has no effect in %s mode", f, s.mode)
		}
	}
	switch s.mode {
	case ModeGenerator:
		gap := float64(DefaultGapMS)
		if args.GapMS != nil {
			gap = *args.GapMS
		}
		if math.IsNaN(gap) || gap < 0 || gap > maxGapMS {
			return nil, fmt.Errorf("can-traffic: gap_ms %v: want 0 to %d", gap, maxGapMS)
		}
		args.GapMS = &gap
		s.gap.Store(int64(gap * float64(time.Millisecond)))
		if args.Burst == 0 {
			args.Burst = 1
		}
		if args.Burst < 0 || args.Count < 0 {
			return nil, errors.New("can-traffic: burst and count must not be negative")
		}
		c, err := parseGenConfig(&args)
		if err != nil {
			return nil, fmt.Errorf("can-traffic: %w", err)
		}
		s.gen = c
		if args.IDMode == "" {
			args.IDMode = "r"
		}
		if args.DataMode == "" {
			args.DataMode = "r"
		}
		if args.LenMode == "" {
			args.LenMode = "r"
			if c.lenMode == modeFixed {
				args.LenMode = strconv.Itoa(int(c.length))
			}
		}
	case ModeCyclic:
		seen := map[[2]uint32]bool{}
		for i, cm := range args.Cyclic {
			m, err := newCyclic(cm)
			if err != nil {
				return nil, fmt.Errorf("can-traffic: cyclic[%d]: %w", i, err)
			}
			key := [2]uint32{m.canID, 0}
			if m.extended {
				key[1] = 1
			}
			if seen[key] {
				return nil, fmt.Errorf("can-traffic: cyclic[%d]: id %s appears twice", i, cm.ID)
			}
			seen[key] = true
			s.cyclic = append(s.cyclic, m)
		}
	case ModeReplay:
		r := *args.Replay
		if r.Speed == 0 {
			r.Speed = 1
		}
		if r.Loops < 0 {
			return nil, errors.New("can-traffic: replay: loops must not be negative")
		}
		n, err := checkReplay(&r)
		if err != nil {
			return nil, fmt.Errorf("can-traffic: replay: %w", err)
		}
		args.Replay, s.frames = &r, n
	}
	s.args = args
	return s, nil
}

// generatorField names a generator argument that is set, or returns "".
func generatorField(a *Args) string {
	switch {
	case a.GapMS != nil:
		return "gap_ms"
	case a.Burst != 0:
		return "burst"
	case a.Count != 0:
		return "count"
	case a.IDMode != "":
		return "id_mode"
	case a.LenMode != "":
		return "len_mode"
	case a.DataMode != "":
		return "data_mode"
	case a.Extended:
		return "extended"
	case a.FD:
		return "fd"
	case a.BRS:
		return "brs"
	case a.ESI:
		return "esi"
	case a.RTR:
		return "rtr"
	case a.Mix:
		return "mix"
	case a.Seed != 0:
		return "seed"
	}
	return ""
}

// matchNothing is a filter no frame passes (CAN_ERR_FLAG is never set on
// a frame's identifier): the service only sends, so its node keeps
// nothing of what others send.
var matchNothing = can.Filter{ID: 0x20000000, Mask: 0x20000000}

// Initialize opens the bus and, with Autostart, starts sending.
func (s *CANTrafficService) Initialize(ctx context.Context) error {
	opts := []can.Option{can.WithFilters(matchNothing)}
	if b, ok := service.BusFrom(ctx); ok && b != nil {
		opts = append(opts, can.WithNATS(b.Conn()))
	}
	bus, err := can.Open(ctx, s.args.Bus, opts...)
	if err != nil {
		return fmt.Errorf("can-traffic: %w", err)
	}
	s.life, s.bus = ctx, bus
	slog.Info("can-traffic ready", "bus", s.args.Bus, "mode", s.mode, "autostart", s.args.Autostart)
	if s.args.Autostart {
		if err := s.Start(ctx); err != nil {
			return errors.Join(err, bus.Close())
		}
	}
	return nil
}

// Shutdown stops sending and closes the bus.
func (s *CANTrafficService) Shutdown(ctx context.Context) error {
	err := s.Stop(ctx)
	if s.bus != nil {
		err = errors.Join(err, s.bus.Close())
	}
	return err
}

// Start starts sending. A run that is going on carries on; a run that
// ended (count reached, replay loops done) or was stopped starts anew:
// count and the increments start from zero, and a seeded generator
// repeats its frames.
func (s *CANTrafficService) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bus == nil {
		return errors.New("start: service not initialized")
	}
	if s.runningLocked() {
		return nil
	}
	var run func(context.Context)
	switch s.mode {
	case ModeGenerator:
		seed := s.args.Seed
		if seed == 0 {
			seed = rand.Uint64() | 1
		}
		s.seed = seed
		g := newGenerator(&s.gen, seed)
		run = func(ctx context.Context) { s.runGenerator(ctx, g) }
	case ModeCyclic:
		run = s.runCyclic
	case ModeReplay:
		f, err := os.Open(s.args.Replay.File)
		if err != nil {
			return fmt.Errorf("start: replay: %w", err)
		}
		run = func(ctx context.Context) { s.runReplay(ctx, f) }
	}
	rctx, cancel := context.WithCancel(s.life)
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	s.mark, s.markN, s.end = time.Now(), s.sent.Load(), time.Time{}
	go func() {
		defer close(done)
		run(rctx)
		s.mu.Lock()
		s.end = time.Now()
		s.mu.Unlock()
	}()
	slog.Info("can-traffic started", "mode", s.mode)
	return nil
}

// Stop stops sending and returns once the sending goroutine has exited.
// It is idempotent.
func (s *CANTrafficService) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done, running := s.cancel, s.done, s.runningLocked()
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop: %w", ctx.Err())
	}
	if running {
		slog.Info("can-traffic stopped", "sent", s.sent.Load(), "errors", s.errs.Load())
	}
	return nil
}

// runningLocked reports whether a run is going on. s.mu must be held.
func (s *CANTrafficService) runningLocked() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// SetGap sets the generator's gap in milliseconds (> 0, decimals
// allowed). It takes effect at once: the next burst is due one new gap
// after the last one.
func (s *CANTrafficService) SetGap(ctx context.Context, gapMS float64) error {
	if s.mode != ModeGenerator {
		return service.Errorf(service.CodeBadRequest, "set_gap: the service runs in %s mode, not generator", s.mode)
	}
	if math.IsNaN(gapMS) || gapMS <= 0 || gapMS > maxGapMS {
		return service.Errorf(service.CodeBadRequest, "set_gap: %v ms: want 0 < gap ≤ %d", gapMS, maxGapMS)
	}
	s.mu.Lock()
	s.gap.Store(int64(gapMS * float64(time.Millisecond)))
	s.args.GapMS = &gapMS
	if s.runningLocked() {
		s.mark, s.markN = time.Now(), s.sent.Load()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	slog.Info("can-traffic gap set", "gap_ms", gapMS)
	return nil
}

// SetPayload changes the payload of a cyclic message; the next frame of
// that message carries it.
func (s *CANTrafficService) SetPayload(ctx context.Context, a SetPayloadArgs) error {
	if s.mode != ModeCyclic {
		return service.Errorf(service.CodeBadRequest, "set_payload: the service runs in %s mode, not cyclic", s.mode)
	}
	if err := s.setPayload(a); err != nil {
		return service.BadRequest(err)
	}
	return nil
}

// Stats returns the counters and the state of the mode.
func (s *CANTrafficService) Stats(ctx context.Context) (Stats, error) {
	s.mu.Lock()
	st := Stats{
		Mode:      s.mode,
		Running:   s.runningLocked(),
		Sent:      s.sent.Load(),
		Errors:    s.errs.Load(),
		LastError: s.lastErr,
	}
	if !s.mark.IsZero() {
		end := s.end
		if end.IsZero() {
			end = time.Now()
		}
		if d := end.Sub(s.mark).Seconds(); d > 0 {
			st.FramesPerSecond = float64(st.Sent-s.markN) / d
		}
	}
	switch s.mode {
	case ModeGenerator:
		a := &s.args
		st.Generator = &GeneratorStats{
			GapMS: *a.GapMS, Burst: a.Burst, Count: a.Count,
			IDMode: a.IDMode, LenMode: a.LenMode, DataMode: a.DataMode,
			Seed: s.seed,
		}
	case ModeCyclic:
		for i, m := range s.cyclic {
			f := m.get()
			st.Cyclic = append(st.Cyclic, CyclicStats{
				ID:       m.id,
				Data:     fmt.Sprintf("%X", f.Payload()),
				PeriodMS: s.args.Cyclic[i].PeriodMS,
				Sent:     m.sent.Load(),
			})
		}
	case ModeReplay:
		r := s.args.Replay
		st.Replay = &ReplayStats{File: r.File, Speed: r.Speed, Loops: r.Loops, LoopsDone: s.loopsDone.Load(), Frames: s.frames}
	}
	s.mu.Unlock()
	return st, nil
}

// maxCatchUp is how far behind its deadlines the generator may fall and
// still catch up: with gaps below it, a short stall is made up for by
// sending the missed frames at once, so that the mean rate holds.
const maxCatchUp = 10 * time.Millisecond

// runGenerator sends bursts of generated frames, one burst per gap, at
// absolute deadlines (start + k·gap) so that timing errors do not add up.
// When it falls behind by more than a gap and more than maxCatchUp, it
// starts again from the present instead of catching up.
func (s *CANTrafficService) runGenerator(ctx context.Context, g *generator) {
	count, burst := s.args.Count, s.args.Burst
	last := time.Now() // deadline of the current burst
	inBurst := 0
	for n := 0; count == 0 || n < count; n++ {
		if inBurst == burst {
			inBurst = 0
			if err := s.waitGap(ctx, &last); err != nil {
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		_ = s.send(ctx, g.next())
		inBurst++
	}
}

// waitGap waits until one gap after *last and moves *last there. A
// set_gap during the wait recomputes the deadline with the new gap.
func (s *CANTrafficService) waitGap(ctx context.Context, last *time.Time) error {
	for {
		gap := time.Duration(s.gap.Load())
		if gap <= 0 {
			*last = time.Now()
			return ctx.Err()
		}
		next := last.Add(gap)
		err := deadline.Until(ctx, next, s.wake)
		if errors.Is(err, deadline.ErrWoken) {
			continue
		}
		if err != nil {
			return err
		}
		*last = next
		if now := time.Now(); now.Sub(next) > max(gap, maxCatchUp) {
			*last = now
		}
		return nil
	}
}

// send puts f on the bus. A failure is counted, logged (at most once a
// second) and returned; the caller carries on with the next frame.
func (s *CANTrafficService) send(ctx context.Context, f can.Frame) error {
	err := s.bus.Send(ctx, f)
	if err == nil {
		s.sent.Add(1)
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	s.fail(fmt.Errorf("send %s: %w", f, err))
	return err
}

// fail counts and logs an error, logging at most once a second with the
// number of errors left unlogged since.
func (s *CANTrafficService) fail(err error) {
	s.errs.Add(1)
	msg := err.Error()
	s.mu.Lock()
	s.lastErr = msg
	s.mu.Unlock()
	s.logMu.Lock()
	now := time.Now()
	if !s.lastLog.IsZero() && now.Sub(s.lastLog) < time.Second {
		s.suppressed++
		s.logMu.Unlock()
		return
	}
	n := s.suppressed
	s.suppressed, s.lastLog = 0, now
	s.logMu.Unlock()
	slog.Warn("can-traffic error", "err", msg, "suppressed", n)
}
