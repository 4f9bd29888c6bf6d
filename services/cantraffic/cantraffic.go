package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
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
// The service runs in one of four modes, set by the field of that name:
// generator (the default when none is set), cyclic, replay or restbus.
// At most one may be set.
type Args struct {
	// Bus is the CAN bus: "virtual:bus0" (the default) or "socketcan:can0".
	Bus string `json:"bus" doc:"CAN bus: virtual:<name> or socketcan:<interface>." example:"virtual:bus0"`

	// Generator makes frames as can-utils cangen does.
	Generator *GeneratorArgs `json:"generator,omitempty" doc:"Generator mode: frames made as can-utils cangen makes them; the mode when none is set." default:"{} if no mode is set"`
	// Cyclic is a set of messages, each sent with its own period.
	Cyclic []CyclicMessage `json:"cyclic,omitempty" validate:"dive" doc:"Cyclic mode: messages, each sent with its own period."`
	// Replay replays a candump log file.
	Replay *ReplayArgs `json:"replay,omitempty" doc:"Replay mode: the frames of a candump log, with their recorded timing."`
	// Restbus sends the cyclic messages of DBC nodes, with their signals.
	Restbus *RestbusArgs `json:"restbus,omitempty" doc:"Rest-bus mode: the cyclic messages of DBC nodes, with their signals."`

	// Autostart starts sending when the service starts. Default false:
	// sending begins on start.
	Autostart bool `json:"autostart" doc:"Start sending when the service starts; otherwise on the start method."`
}

// Modes, as reported by Stats.Mode.
const (
	ModeGenerator = "generator"
	ModeCyclic    = "cyclic"
	ModeReplay    = "replay"
	ModeRestbus   = "restbus"
)

// Reasons a run ends, in the run_ended event.
const (
	EndCount    = "count"    // the generator sent count frames
	EndLoops    = "loops"    // the replay did its loops
	EndStopped  = "stopped"  // the stop method
	EndShutdown = "shutdown" // the service shut down
)

// EventRunEnded is the topic of the event emitted when a run ends.
const EventRunEnded = "run_ended"

// RunEnded is the value of the run_ended event.
type RunEnded struct {
	// Sent is the number of frames the run sent.
	Sent uint64 `json:"sent" doc:"Frames the run sent."`
	// Reason is why it ended: "count", "loops", "stopped" or "shutdown".
	Reason string `json:"reason" doc:"Why the run ended: count, loops, stopped or shutdown."`
}

// Stats is the answer of the stats method.
type Stats struct {
	// Mode is "generator", "cyclic", "replay" or "restbus".
	Mode string `json:"mode" doc:"Mode: generator, cyclic, replay or restbus."`
	// Running says whether frames are being sent.
	Running bool `json:"running" doc:"Whether frames are being sent."`
	// Sent counts frames the bus took, since the service started.
	Sent uint64 `json:"sent" doc:"Frames sent since the service started."`
	// Errors counts frames the bus refused (and, in replay, bad lines).
	Errors uint64 `json:"errors" doc:"Frames the bus refused (and bad lines of a replay file) since the service started."`
	// FramesPerSecond is the average rate of the current run (of the last
	// one when stopped), since it started or since the last set_gap.
	FramesPerSecond float64 `json:"frames_per_second" doc:"Mean rate of the current run (or the last), in frames/s, since it started or since the last set_gap."`
	// LastError is the message of the last error, "" if none.
	LastError string `json:"last_error,omitempty" doc:"Message of the last error; absent if none."`

	Generator *GeneratorStats `json:"generator,omitempty" doc:"Generator settings and the seed of the run (generator mode)."`
	Cyclic    []CyclicStats   `json:"cyclic,omitempty" doc:"One entry per cyclic message (cyclic mode)."`
	Replay    *ReplayStats    `json:"replay,omitempty" doc:"Replay settings and progress (replay mode)."`
	Restbus   []RestbusStats  `json:"restbus,omitempty" doc:"One entry per rest-bus message (restbus mode)."`
}

// runner is one mode of the service.
type runner interface {
	// mode is the name of the mode.
	mode() string
	// prepare makes a run: a function that sends until ctx ends or the
	// run is complete, and then returns why it ended ("" when ctx ended).
	prepare() (func(ctx context.Context) string, error)
	// stats fills in the mode's part of st.
	stats(st *Stats)
}

// CANTrafficService generates CAN traffic: cangen-like frames, cyclic
// message sets, the replay of a candump log or a rest-bus simulation from
// a DBC file. Its default name is CAN_TRAFFIC_SERVICE.
type CANTrafficService struct {
	args Args
	run  runner

	life context.Context // from Initialize: valid until Shutdown returns
	bus  can.Bus

	mu      sync.Mutex // guards the fields below
	cancel  context.CancelFunc
	done    chan struct{} // closed when the current run's goroutine returns
	why     string        // why the current run is being cancelled
	runN    uint64        // Sent when the run started
	mark    time.Time     // when the rate window started
	markN   uint64        // Sent at mark
	end     time.Time     // when the last run ended (zero while running)
	lastErr string

	sent, errs atomic.Uint64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// New checks args and returns the service. It applies the defaults; bad
// values are errors naming the argument.
func New(args Args) (*CANTrafficService, error) {
	if err := args.normalize(); err != nil {
		return nil, fmt.Errorf("can-traffic: %w", err)
	}
	s := &CANTrafficService{args: args}
	var err error
	switch {
	case args.Generator != nil:
		s.run, err = newGeneratorRunner(s, args.Generator)
	case args.Cyclic != nil:
		s.run, err = newCyclicRunner(s, args.Cyclic)
	case args.Replay != nil:
		s.run, err = newReplayRunner(s, args.Replay)
	case args.Restbus != nil:
		s.run, err = newRestbusRunner(s, args.Restbus)
	}
	if err != nil {
		return nil, fmt.Errorf("can-traffic: %w", err)
	}
	return s, nil
}

// normalize applies the defaults and checks what concerns more than one
// mode: the bus, and that one mode at most is set.
func (a *Args) normalize() error {
	if a.Bus == "" {
		a.Bus = DefaultBus
	}
	if _, err := can.ParseSpec(a.Bus); err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	var set []string
	if a.Generator != nil {
		set = append(set, ModeGenerator)
	}
	if len(a.Cyclic) > 0 {
		set = append(set, ModeCyclic)
	} else {
		a.Cyclic = nil
	}
	if a.Replay != nil {
		set = append(set, ModeReplay)
	}
	if a.Restbus != nil {
		set = append(set, ModeRestbus)
	}
	switch len(set) {
	case 0:
		a.Generator = &GeneratorArgs{}
	case 1:
	default:
		return fmt.Errorf("%s and %s: set one mode at most", set[0], set[1])
	}
	switch {
	case a.Generator != nil:
		a.Generator.normalize()
	case a.Replay != nil:
		a.Replay.normalize()
	}
	return nil
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
	slog.Info("can-traffic ready", "bus", s.args.Bus, "mode", s.run.mode(), "autostart", s.args.Autostart)
	if s.args.Autostart {
		if err := s.Start(ctx); err != nil {
			return errors.Join(err, bus.Close())
		}
	}
	return nil
}

// Shutdown stops sending and closes the bus.
func (s *CANTrafficService) Shutdown(ctx context.Context) error {
	err := s.stop(ctx, EndShutdown)
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
	run, err := s.run.prepare()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	rctx, cancel := context.WithCancel(s.life)
	done := make(chan struct{})
	s.cancel, s.done, s.why = cancel, done, ""
	s.runN = s.sent.Load()
	s.mark, s.markN, s.end = time.Now(), s.runN, time.Time{}
	go func() {
		defer close(done)
		reason := run(rctx)
		s.mu.Lock()
		s.end = time.Now()
		if reason == "" {
			reason = s.why
		}
		ev := RunEnded{Sent: s.sent.Load() - s.runN, Reason: reason}
		s.mu.Unlock()
		if err := service.Emit(s.life, EventRunEnded, ev); err != nil {
			slog.Debug("can-traffic: run_ended not emitted", "err", err)
		}
	}()
	slog.Info("can-traffic started", "mode", s.run.mode())
	return nil
}

// Stop stops sending and returns once the sending goroutine has exited.
// It is idempotent.
func (s *CANTrafficService) Stop(ctx context.Context) error { return s.stop(ctx, EndStopped) }

func (s *CANTrafficService) stop(ctx context.Context, why string) error {
	s.mu.Lock()
	cancel, done, running := s.cancel, s.done, s.runningLocked()
	if running {
		s.why = why
	}
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

// notIn is the error of a method of another mode.
func (s *CANTrafficService) notIn(method, mode string) error {
	return service.Errorf(service.CodeBadRequest, "%s: the service runs in %s mode, not %s", method, s.run.mode(), mode)
}

// SetGap sets the generator's gap in milliseconds (> 0, decimals
// allowed). It takes effect at once: the next burst is due one new gap
// after the last one.
func (s *CANTrafficService) SetGap(ctx context.Context, gapMS float64) error {
	g, ok := s.run.(*generatorRunner)
	if !ok {
		return s.notIn("set_gap", ModeGenerator)
	}
	if err := g.setGap(gapMS); err != nil {
		return service.BadRequest(fmt.Errorf("set_gap: %w", err))
	}
	s.mu.Lock()
	if s.runningLocked() {
		s.mark, s.markN = time.Now(), s.sent.Load()
	}
	s.mu.Unlock()
	slog.Info("can-traffic gap set", "gap_ms", gapMS)
	return nil
}

// SetPayload changes the payload of a cyclic message; the next frame of
// that message carries it.
func (s *CANTrafficService) SetPayload(ctx context.Context, a SetPayloadArgs) error {
	c, ok := s.run.(*cyclicRunner)
	if !ok {
		return s.notIn("set_payload", ModeCyclic)
	}
	if err := c.setPayload(a); err != nil {
		return service.BadRequest(err)
	}
	return nil
}

// SetSignal changes a signal of a rest-bus message; the message's next
// frame carries it.
func (s *CANTrafficService) SetSignal(ctx context.Context, a SetSignalArgs) error {
	r, ok := s.run.(*restbusRunner)
	if !ok {
		return s.notIn("set_signal", ModeRestbus)
	}
	if err := r.setSignal(a); err != nil {
		return service.BadRequest(fmt.Errorf("set_signal: %w", err))
	}
	return nil
}

// Signals returns the current physical value of every signal of the
// rest-bus messages, by message and signal name.
func (s *CANTrafficService) Signals(ctx context.Context) (map[string]map[string]float64, error) {
	r, ok := s.run.(*restbusRunner)
	if !ok {
		return nil, s.notIn("signals", ModeRestbus)
	}
	return r.signals(), nil
}

// Stats returns the counters and the state of the mode.
func (s *CANTrafficService) Stats(ctx context.Context) (Stats, error) {
	s.mu.Lock()
	st := Stats{
		Mode:      s.run.mode(),
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
	s.mu.Unlock()
	s.run.stats(&st)
	return st, nil
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
