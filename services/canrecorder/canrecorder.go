package canrecorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// Kind is the name of the service in rig files and on the command line.
const Kind = "can-recorder"

// Register makes the service spawnable as Kind.
func Register() { spawn.RegisterKind(Kind, New) }

// DefaultBus is the bus recorded when Args.Bus is empty.
const DefaultBus = "virtual:bus0"

// Timing of the file writes.
const (
	// flushEvery is how often frames buffered in memory are written to
	// the file while recording.
	flushEvery = 200 * time.Millisecond
	// drainIdle is how long stop waits for another frame, after the bus
	// has delivered everything sent before the stop, before it considers
	// the bus drained.
	drainIdle = 100 * time.Millisecond
	// maxDrain bounds the drain on a bus that never goes idle.
	maxDrain = 2 * time.Second
)

// Args configures a CANRecorderService. Zero values mean the defaults.
type Args struct {
	// Bus is the CAN bus: "virtual:bus0" (the default) or "socketcan:can0".
	Bus string `json:"bus" doc:"CAN bus: virtual:<name> or socketcan:<interface>." default:"\"virtual:bus0\""`
	// Path is the log file. It is created, or truncated unless Append is
	// set.
	Path string `json:"path" validate:"required" doc:"candump log file to write; created, or truncated unless append is set." example:"drive.log"`
	// Append adds to an existing file instead of truncating it.
	Append bool `json:"append" doc:"Add to an existing file instead of truncating it." default:"false"`
	// Filters keep only the frames that pass at least one of them, in
	// candump's syntax: "123:7FF", "1ABCDEF0:1FFFFFFF", "200~700" or
	// "~200:700" (inverted). See ParseFilter. Default: every frame.
	Filters []string `json:"filters,omitempty" doc:"Keep only frames that pass one of these candump filters: 123:7FF, 1ABCDEF0:1FFFFFFF, 200~700, ~200:700 (inverted)." default:"every frame"`
	// IDs keep the frames with one of these identifiers (a number,
	// "0x7E8" or "7E8"; standard or extended), besides those that pass
	// Filters. Default: none.
	IDs []hexid.ID `json:"ids,omitempty" doc:"Keep also the frames with one of these identifiers (standard or extended)." default:"none"`
	// Interface is the interface name written in each line. Default: the
	// name in Bus ("bus0" for "virtual:bus0", "can0" for "socketcan:can0").
	Interface string `json:"interface" doc:"Interface name written in each line." default:"the bus's name (bus0 for virtual:bus0)"`
	// Autostart starts recording when the service starts. Default true:
	// unset means true; set false to begin on start.
	Autostart *bool `json:"autostart,omitempty" doc:"Start recording when the service starts; false: on the start method." default:"true"`
	// Nanoseconds writes timestamps with 9 decimals instead of candump's
	// 6 (bgkit reads both; canplayer reads only 6).
	Nanoseconds bool `json:"nanoseconds" doc:"Write timestamps with 9 decimals instead of candump's 6 (canplayer reads only 6)." default:"false"`
}

// Stats is the answer of the stats method.
type Stats struct {
	// Running says whether frames are being recorded.
	Running bool `json:"running" doc:"Whether frames are being recorded."`
	// Frames counts the frames written to the file since the service
	// started.
	Frames uint64 `json:"frames" doc:"Frames written to the file since the service started."`
	// Bytes counts the bytes written to the file since the service started
	// (not counting what was there with Append).
	Bytes uint64 `json:"bytes" doc:"Bytes written to the file since the service started (not what was there with append)."`
	// Path is the log file.
	Path string `json:"path" doc:"The log file."`
	// Dropped counts frames of a virtual bus that NATS discarded because
	// the recorder fell behind (see can.VirtualStats).
	Dropped uint64 `json:"dropped" doc:"Frames of a virtual bus that NATS discarded because the recorder fell behind."`
	// Errors counts failed writes and receive errors.
	Errors uint64 `json:"errors" doc:"Failed writes and receive errors."`
	// LastError is the message of the last error, "" if none.
	LastError string `json:"last_error,omitempty" doc:"Message of the last error; absent if none."`
}

// CANRecorderService records the frames of a CAN bus to a candump log
// file. Its default name is CAN_RECORDER_SERVICE.
type CANRecorderService struct {
	args    Args
	filters []can.Filter
	iface   string

	life context.Context // from Initialize: valid until Shutdown returns
	b    *bus.Bus        // nil outside service.Run

	wmu     sync.Mutex // guards the file and the counters
	f       *os.File
	cw      countingWriter
	w       *can.LogWriter
	pending uint64 // entries buffered since the last flush, not yet in frames
	frames  uint64
	dropped uint64 // of nodes already closed
	errs    uint64
	lastErr string
	lastLog time.Time // of the last error logged
	// suppressed counts errors not logged since lastLog.
	suppressed int

	tails tailSet // tail streams (tail.go)

	rmu    sync.Mutex // serializes start and stop; guards the fields below
	node   can.Bus
	cancel context.CancelFunc
	done   chan struct{} // closed when the run's goroutines have returned
}

// countingWriter counts the bytes written to the file.
type countingWriter struct {
	w io.Writer
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

// New checks args and returns the service.
func New(args Args) (*CANRecorderService, error) {
	cfg, err := args.normalize()
	if err != nil {
		return nil, err
	}
	return &CANRecorderService{args: cfg.args, iface: cfg.args.Interface, filters: cfg.filters}, nil
}

// Initialize opens the log file and, with Autostart, starts recording.
func (s *CANRecorderService) Initialize(ctx context.Context) error {
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if s.args.Append {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(s.args.Path, flag, 0o644)
	if err != nil {
		return fmt.Errorf("can-recorder: %w", err)
	}
	s.life = ctx
	s.b, _ = service.BusFrom(ctx)
	s.f = f
	s.cw = countingWriter{w: f}
	s.w = can.NewLogWriter(&s.cw)
	s.w.Nanoseconds = s.args.Nanoseconds
	if *s.args.Autostart {
		if err := s.Start(ctx); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	slog.Info("can-recorder ready", "bus", s.args.Bus, "path", s.args.Path, "recording", *s.args.Autostart)
	return nil
}

// Shutdown stops recording (see Stop) and closes the file: every frame
// the bus delivered before it is in the file, flushed and synced.
func (s *CANRecorderService) Shutdown(ctx context.Context) error {
	err := s.Stop(ctx)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f != nil {
		if cerr := s.f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("can-recorder: close %s: %w", s.args.Path, cerr))
		}
		s.f = nil
	}
	slog.Info("can-recorder closed", "path", s.args.Path, "frames", s.frames, "bytes", s.cw.n)
	return err
}

// Start starts recording: it attaches a node to the bus, so that every
// frame sent after Start returns is recorded. Recording already going on
// carries on.
func (s *CANRecorderService) Start(ctx context.Context) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.w == nil {
		return errors.New("start: service not initialized")
	}
	if s.node != nil {
		select {
		case <-s.done:
			// The receive loop ended on an error: start over.
			s.closeNodeLocked()
		default:
			return nil
		}
	}
	opts := []can.Option{}
	if len(s.filters) > 0 {
		opts = append(opts, can.WithFilters(s.filters...))
	}
	if s.b != nil {
		opts = append(opts, can.WithNATS(s.b.Conn()))
	}
	node, err := can.Open(ctx, s.args.Bus, opts...)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	rctx, cancel := context.WithCancel(s.life)
	done := make(chan struct{})
	s.node, s.cancel, s.done = node, cancel, done
	var wg sync.WaitGroup
	wg.Go(func() { s.record(rctx, node) })
	wg.Go(func() { s.flushLoop(rctx) })
	go func() { wg.Wait(); close(done) }()
	return nil
}

// Stop stops recording and returns once every frame the bus delivered
// before the call is in the file, flushed and synced to disk. It is
// idempotent.
//
// On a virtual bus it first makes sure that NATS has handed over every
// frame it routed to this process before the call (a round trip to the
// server), then reads the node until it stays idle for 100 ms (at most 2 s
// on a bus that never goes quiet).
func (s *CANRecorderService) Stop(ctx context.Context) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.node == nil {
		return nil
	}
	if s.b != nil {
		if err := s.b.Conn().FlushWithContext(ctx); err != nil {
			s.fail(fmt.Errorf("stop: flush the bus connection: %w", err))
		}
	}
	s.cancel()
	<-s.done
	s.drain(ctx, s.node)
	s.closeNodeLocked()

	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.w.Flush()
	if err == nil {
		s.frames += s.pending
	}
	s.pending = 0
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		err = fmt.Errorf("stop: %s: %w", s.args.Path, err)
		s.failLocked(err)
		return err
	}
	slog.Info("can-recorder stopped", "frames", s.frames, "bytes", s.cw.n)
	return nil
}

// closeNodeLocked closes the node, keeping its drop count. s.rmu must be
// held.
func (s *CANRecorderService) closeNodeLocked() {
	if v, ok := s.node.(*can.Virtual); ok {
		v.Close()
		s.wmu.Lock()
		s.dropped += v.Stats().Dropped
		s.wmu.Unlock()
	} else if err := s.node.Close(); err != nil {
		s.fail(fmt.Errorf("close %s: %w", s.args.Bus, err))
	}
	s.node, s.cancel = nil, nil
}

// drain writes the frames node still holds, until none comes for
// drainIdle, maxDrain has passed or ctx ends.
func (s *CANRecorderService) drain(ctx context.Context, node can.Bus) {
	limit := time.Now().Add(maxDrain)
	for time.Now().Before(limit) {
		dctx, cancel := context.WithTimeout(ctx, drainIdle)
		r, err := node.Recv(dctx)
		cancel()
		if err != nil {
			return
		}
		s.write(r)
	}
}

// record writes every frame node receives until ctx ends. A receive
// error ends the recording; it is counted and logged.
func (s *CANRecorderService) record(ctx context.Context, node can.Bus) {
	for {
		r, err := node.Recv(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.fail(fmt.Errorf("receive from %s: %w", s.args.Bus, err))
				slog.Error("can-recorder stopped recording", "err", err)
			}
			return
		}
		s.write(r)
	}
}

// write appends one frame to the file buffer.
func (s *CANRecorderService) write(r can.Received) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.w.Write(can.LogEntry{Time: r.Time, Interface: s.iface, Frame: r.Frame}); err != nil {
		s.failLocked(fmt.Errorf("write %s: %w", s.args.Path, err))
		return
	}
	s.pending++ // counted in frames once flushed to the file
	s.tails.push(&r.Frame)
}

// flushLoop writes buffered frames to the file every flushEvery, so that
// the file follows the bus closely while the buffer absorbs bursts.
func (s *CANRecorderService) flushLoop(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.wmu.Lock()
			s.flushLocked()
			s.wmu.Unlock()
		}
	}
}

// flushLocked writes buffered entries to the file. s.wmu must be held.
func (s *CANRecorderService) flushLocked() {
	if s.pending == 0 {
		return
	}
	err := s.w.Flush()
	if err == nil {
		s.frames += s.pending
	}
	s.pending = 0
	if err != nil {
		s.failLocked(fmt.Errorf("write %s: %w", s.args.Path, err))
	}
}

// Stats returns the counters; frames buffered in memory are written to
// the file first, so that Bytes matches Frames.
func (s *CANRecorderService) Stats(ctx context.Context) (Stats, error) {
	s.rmu.Lock()
	running := false
	var dropped uint64
	if s.node != nil {
		select {
		case <-s.done:
		default:
			running = true
		}
		if v, ok := s.node.(*can.Virtual); ok {
			dropped = v.Stats().Dropped
		}
	}
	s.rmu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w != nil {
		s.flushLocked()
	}
	return Stats{
		Running:   running,
		Frames:    s.frames,
		Bytes:     s.cw.n,
		Path:      s.args.Path,
		Dropped:   s.dropped + dropped,
		Errors:    s.errs,
		LastError: s.lastErr,
	}, nil
}

// fail counts and logs an error.
func (s *CANRecorderService) fail(err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.failLocked(err)
}

// failLocked counts an error and logs it, at most once a second: a full
// disk fails every write. s.wmu must be held.
func (s *CANRecorderService) failLocked(err error) {
	s.errs++
	s.lastErr = err.Error()
	if now := time.Now(); now.Sub(s.lastLog) >= time.Second {
		slog.Warn("can-recorder error", "err", err, "suppressed", s.suppressed)
		s.lastLog, s.suppressed = now, 0
	} else {
		s.suppressed++
	}
}
