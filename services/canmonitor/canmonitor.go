package canmonitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// Kind is the name of the service in rig files and on the command line.
const Kind = "can-monitor"

// Register makes the service spawnable as Kind.
func Register() { spawn.RegisterKind(Kind, New) }

// DefaultBus is the bus monitored when Args.Bus is empty.
const DefaultBus = "virtual:bus0"

// Args configures a CANMonitorService.
type Args struct {
	// Bus is the CAN bus: "virtual:bus0" (the default) or "socketcan:can0".
	Bus string `json:"bus" doc:"CAN bus: virtual:<name> or socketcan:<interface>." default:"\"virtual:bus0\""`
	// DBC is the path of the DBC file that decodes the frames.
	DBC string `json:"dbc" validate:"required" doc:"Path of the DBC file that decodes the frames." example:"car.dbc"`
}

// SignalArgs names a signal: "VehicleSpeed" when one message has it,
// "ABS_Status.VehicleSpeed", or the signal with Message set.
type SignalArgs struct {
	Signal  string `json:"signal" validate:"required" doc:"Signal name, or Message.Signal when several messages have it." example:"VehicleSpeed"`
	Message string `json:"message,omitempty" doc:"Message (DBC name) of the signal, when the name alone is ambiguous." example:"ABS_Status"`
}

// WaitArgs is the input of wait_signal: the signal and a condition, such
// as {"signal": "VehicleSpeed", "op": ">=", "value": 50}.
type WaitArgs struct {
	Signal  string `json:"signal" validate:"required" doc:"Signal name, or Message.Signal when several messages have it." example:"VehicleSpeed"`
	Message string `json:"message,omitempty" doc:"Message (DBC name) of the signal, when the name alone is ambiguous." example:"ABS_Status"`
	// Op is one of == != < <= > >=.
	Op    string  `json:"op" validate:"required,oneof=== != < <= > >=" doc:"Comparison of the signal with value (or label)." example:">="`
	Value float64 `json:"value" doc:"Value to compare with, in the signal's unit." example:"50"`
	// Label, when set, is a name of the signal's value table ("On"), used
	// instead of Value.
	Label string `json:"label,omitempty" doc:"Name from the signal's value table (e.g. On), compared instead of value; empty: value counts." example:""`
	// TimeoutMS bounds the wait (default and upper bound: the caller's
	// deadline).
	TimeoutMS int `json:"timeout_ms,omitempty" validate:"gte=0" doc:"Longest wait, in ms; 0: until the caller's deadline (which also bounds it)." example:"2000"`
	// Fresh only accepts a value received after the call; by default the
	// last value received counts.
	Fresh bool `json:"fresh,omitempty" doc:"Only a value received after the call counts; otherwise the last value received counts too." example:"false"`
}

// Stats is the answer of the stats method.
type Stats struct {
	Bus string `json:"bus" doc:"CAN bus monitored."`
	DBC string `json:"dbc" doc:"DBC file that decodes the frames."`
	// Frames counts the frames received, Decoded those of a message of
	// the DBC.
	Frames  uint64 `json:"frames" doc:"Frames received since the service started."`
	Decoded uint64 `json:"decoded" doc:"Frames received of a message of the DBC."`
}

// CANMonitorService decodes the frames of a bus with a DBC file and
// answers for the last value of its signals. Its default name is
// CAN_MONITOR_SERVICE.
type CANMonitorService struct {
	args Args
	mon  *monitor

	node   can.Bus
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New loads the DBC file and returns the service.
func New(args Args) (*CANMonitorService, error) {
	if args.Bus == "" {
		args.Bus = DefaultBus
	}
	if _, err := can.ParseSpec(args.Bus); err != nil {
		return nil, fmt.Errorf("can-monitor: bus: %w", err)
	}
	if args.DBC == "" {
		return nil, errors.New("can-monitor: dbc: required")
	}
	db, err := dbc.Load(args.DBC)
	if err != nil {
		return nil, fmt.Errorf("can-monitor: %w", err)
	}
	return &CANMonitorService{args: args, mon: newMonitor(db)}, nil
}

// Initialize attaches to the bus and starts decoding.
func (s *CANMonitorService) Initialize(ctx context.Context) error {
	var opts []can.Option
	if b, ok := service.BusFrom(ctx); ok && b != nil {
		opts = append(opts, can.WithNATS(b.Conn()))
	}
	node, err := can.Open(ctx, s.args.Bus, opts...)
	if err != nil {
		return fmt.Errorf("can-monitor: %w", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	s.node, s.cancel, s.done = node, cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.mon.run(rctx, node); err != nil {
			slog.Error("can-monitor: receive", "err", err)
		}
	}()
	slog.Info("can-monitor ready", "bus", s.args.Bus, "dbc", s.args.DBC, "messages", len(s.mon.db.Messages))
	return nil
}

// Shutdown stops decoding and detaches from the bus.
func (s *CANMonitorService) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		if s.cancel == nil {
			return
		}
		s.cancel()
		err = s.node.Close()
		select {
		case <-s.done:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("shutdown: %w", ctx.Err()))
		}
	})
	return err
}

// Signal returns the last value of a signal and when it was received
// (seen is false until a frame has carried it).
func (s *CANMonitorService) Signal(ctx context.Context, a SignalArgs) (Sample, error) {
	r, err := s.mon.resolve(a.Message, a.Signal)
	if err != nil {
		return Sample{}, service.BadRequest(fmt.Errorf("signal: %w", err))
	}
	return s.mon.get(r), nil
}

// WaitSignal waits until a signal satisfies the condition and returns the
// sample that did; it fails when timeout_ms or the caller's deadline
// comes first, with the last value in the message.
func (s *CANMonitorService) WaitSignal(ctx context.Context, a WaitArgs) (Sample, error) {
	r, err := s.mon.resolve(a.Message, a.Signal)
	if err != nil {
		return Sample{}, service.BadRequest(fmt.Errorf("wait_signal: %w", err))
	}
	v := a.Value
	if a.Label != "" {
		if v, err = s.mon.valueOf(r, a.Label); err != nil {
			return Sample{}, service.BadRequest(fmt.Errorf("wait_signal: %w", err))
		}
	}
	c, err := newCond(a.Op, v)
	if err != nil {
		return Sample{}, service.BadRequest(fmt.Errorf("wait_signal: %w", err))
	}
	// A timeout_ms too long for a time.Duration is no bound: the caller's
	// deadline is.
	if a.TimeoutMS > 0 && int64(a.TimeoutMS) <= math.MaxInt64/int64(time.Millisecond) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(a.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	smp, err := s.mon.wait(ctx, r, c, a.Fresh)
	if err != nil {
		return smp, fmt.Errorf("wait_signal: %w", err)
	}
	return smp, nil
}

// Signals returns the last value of every signal seen, by message and
// signal name.
func (s *CANMonitorService) Signals(ctx context.Context) (map[string]map[string]Sample, error) {
	return s.mon.all(), nil
}

// Stats returns the counters.
func (s *CANMonitorService) Stats(ctx context.Context) (Stats, error) {
	s.mon.mu.Lock()
	defer s.mon.mu.Unlock()
	return Stats{Bus: s.args.Bus, DBC: s.args.DBC, Frames: s.mon.frames, Decoded: s.mon.decoded}, nil
}
