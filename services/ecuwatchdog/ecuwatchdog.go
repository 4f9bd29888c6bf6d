package ecuwatchdog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/diaglink"
	"github.com/bgkit/bgkit/spawn"
)

// Kind is the name of the service in rig files and on the command line.
const Kind = "ecu-watchdog"

// Register makes the service spawnable as Kind.
func Register() { spawn.RegisterKind(Kind, New) }

// Name is the default service name, derived from ECUWatchdogService.
const Name = "ECU_WATCHDOG_SERVICE"

// Probes: what the watchdog sends every period.
const (
	// ProbeTesterPresent sends TesterPresent 3E 00 and wants 7E 00.
	ProbeTesterPresent = "tester_present"
	// ProbeSession reads DID F186, the active diagnostic session, so that
	// a fall back to the default session is seen as a reset.
	ProbeSession = "session"
)

// Defaults of the zero values of Args.
const (
	DefaultBus                 = "virtual:bus0"
	DefaultTxID       hexid.ID = 0x7E0
	DefaultRxID       hexid.ID = 0x7E8
	DefaultProbe               = ProbeTesterPresent
	DefaultPeriodMS            = 500
	DefaultTimeoutMS           = 200
	DefaultCrashAfter          = 2
	DefaultBlackBox            = 100
)

// DIDActiveSession is the data identifier the session probe reads.
const DIDActiveSession = 0xF186

// ErrInvalidArgs is matched (errors.Is) by the errors New returns for bad
// arguments. It is service.ErrInvalidArgs, which the argument
// errors of the other built-in services match too.
var ErrInvalidArgs = service.ErrInvalidArgs

// Args configures the watchdog. The zero value is valid: TesterPresent to
// 0x7E0 on virtual:bus0 every 500 ms, replies on 0x7E8 within 200 ms, a
// crash after 2 missed, the last 100 frames of the bus kept. Identifiers
// and addresses are hexid.IDs: a number, "0x7E0" or "7E0".
type Args struct {
	// Bus is the CAN bus, "virtual:<name>" or "socketcan:<if>" ("":
	// DefaultBus). TxID is the physical request identifier of the ECU (0:
	// 0x7E0), RxID its response identifier (0: 0x7E8); Extended selects
	// 29-bit identifiers. Padding pads frames to 8 bytes with PadByte
	// (nil: true, 0xCC).
	Bus      string   `json:"bus,omitempty" doc:"CAN bus: virtual:<name> or socketcan:<interface>; not used with DoIP."`
	TxID     hexid.ID `json:"tx_id,omitempty" validate:"lte=536870911" doc:"CAN identifier of the ECU's physical requests, which the probes use." example:"0x7E0"`
	RxID     hexid.ID `json:"rx_id,omitempty" validate:"lte=536870911" doc:"CAN identifier of the ECU's responses." example:"0x7E8"`
	Extended bool     `json:"extended,omitempty" doc:"29-bit CAN identifiers." default:"false"`
	Padding  *bool    `json:"padding,omitempty" doc:"Pad the probe frames to 8 bytes with pad_byte."`
	PadByte  *uint8   `json:"pad_byte,omitempty" doc:"Byte the frames are padded with, 0 to 255." default:"204 (0xCC)"`

	// DoIPAddress ("host:port") probes over DoIP instead of CAN, from
	// SourceAddress (0: 0x0E00) to TargetAddress (0: the entity's address
	// from its routing activation response). The connection is made at
	// the first probe and again after it was lost, so the watchdog may
	// start before the ECU.
	DoIPAddress   string   `json:"doip_address,omitempty" doc:"DoIP entity host:port; set, the probes go over DoIP instead of CAN (connecting again after a loss)." example:"127.0.0.1:13400" default:"\"\" (CAN)"`
	SourceAddress hexid.ID `json:"source_address,omitempty" validate:"lte=65535" doc:"DoIP logical address of the tester." default:"\"0xE00\" (with DoIP)"`
	TargetAddress hexid.ID `json:"target_address,omitempty" validate:"lte=65535" doc:"DoIP logical address of the ECU." default:"the entity's (routing activation)"`

	// Probe is "tester_present" (the default) or "session" (read DID
	// F186; a fall back to the default session is a reset).
	Probe string `json:"probe,omitempty" validate:"omitempty,oneof=tester_present session" doc:"tester_present (3E 00), or session: read DID F186, where a fall back to the default session is a reset."`
	// PeriodMS is the probe period (0: 500); TimeoutMS how long a probe
	// waits for its reply (0: 200), at most the period.
	PeriodMS  int `json:"period_ms,omitempty" validate:"gte=0,lte=3600000" doc:"Period of the probes, in ms."`
	TimeoutMS int `json:"timeout_ms,omitempty" validate:"gte=0,lte=60000" doc:"Wait for a probe's reply, in ms; at most period_ms."`
	// CrashAfter is how many probes in a row without a reply make a crash
	// (0: 2).
	CrashAfter int `json:"crash_after,omitempty" validate:"gte=0,lte=1000" doc:"Probes in a row without a reply that make a crash (event ecu_crashed)."`
	// BlackBox is how many of the last frames of the CAN bus the events
	// carry (0: 100; CAN only).
	BlackBox int `json:"black_box,omitempty" validate:"gte=0,lte=100000" doc:"Last frames of the CAN bus kept and carried by the events (CAN only)."`
}

// normalize applies the defaults: the one place they are set.
func (a *Args) normalize() {
	a.Probe = cmp.Or(a.Probe, DefaultProbe)
	a.PeriodMS = cmp.Or(a.PeriodMS, DefaultPeriodMS)
	a.TimeoutMS = cmp.Or(a.TimeoutMS, min(DefaultTimeoutMS, a.PeriodMS))
	a.CrashAfter = cmp.Or(a.CrashAfter, DefaultCrashAfter)
	if a.DoIPAddress != "" {
		a.SourceAddress = cmp.Or(a.SourceAddress, diaglink.DefaultSourceAddress)
		return
	}
	a.Bus = cmp.Or(a.Bus, DefaultBus)
	a.TxID = cmp.Or(a.TxID, DefaultTxID)
	a.RxID = cmp.Or(a.RxID, DefaultRxID)
	a.BlackBox = cmp.Or(a.BlackBox, DefaultBlackBox)
	a.Padding = cmp.Or(a.Padding, new(true))
}

// check checks the normalized a once: its validate tags, then what they
// cannot express.
func (a *Args) check() error {
	if err := service.Validate(a); err != nil {
		return service.InvalidArgs(err)
	}
	if a.TimeoutMS > a.PeriodMS {
		return service.BadArgs("timeout_ms %d is longer than period_ms %d", a.TimeoutMS, a.PeriodMS)
	}
	return a.link().Check()
}

// ECUWatchdogService probes an ECU every period and reports crashes and
// resets as events. See the package documentation.
type ECUWatchdogService struct {
	args Args
	log  *slog.Logger

	mu      sync.Mutex // guards the state below and the watch fields
	st      Status
	lastSes uint8 // last session seen by the session probe; 0 unknown
	streak  time.Time

	box    *blackBox // nil with DoIP
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closer func() error // closes the transports
}

// New applies the defaults to args, checks them once and returns the
// service. Its errors match ErrInvalidArgs.
func New(args Args) (*ECUWatchdogService, error) {
	return newService(args, slog.Default())
}

func newService(args Args, log *slog.Logger) (*ECUWatchdogService, error) {
	args.normalize()
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", Kind, err)
	}
	s := &ECUWatchdogService{args: args, log: log}
	s.st.State = StateWaiting
	if args.DoIPAddress == "" {
		s.box = newBlackBox(args.BlackBox)
	}
	return s, nil
}

// Initialize opens the transport and starts probing.
func (s *ECUWatchdogService) Initialize(ctx context.Context) (err error) {
	var p prober
	var closers []func() error
	defer func() {
		if err != nil {
			for _, c := range closers {
				c()
			}
			err = fmt.Errorf("%s: %w", Kind, err)
		}
	}()
	if s.args.DoIPAddress != "" {
		d := newDoIPProber(&s.args)
		p, closers = d, append(closers, d.close)
	} else {
		b, _ := service.BusFrom(ctx)
		var opts []can.Option
		if b != nil {
			opts = append(opts, can.WithNATS(b.Conn()))
		}
		c, err := newCANProber(ctx, &s.args)
		if err != nil {
			return err
		}
		p, closers = c, append(closers, c.close)
		rec, err := can.Open(ctx, s.args.Bus, opts...)
		if err != nil {
			return fmt.Errorf("open %s: %w", s.args.Bus, err)
		}
		closers = append(closers, rec.Close)
		s.wg.Go(func() { s.box.record(rec) })
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	s.cancel = cancel
	s.closer = func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	s.mu.Unlock()
	s.wg.Go(func() { s.run(runCtx, p) })
	s.log.Info("ECU watchdog started", s.describe()...)
	return nil
}

func (s *ECUWatchdogService) describe() []any {
	a := &s.args
	attrs := []any{"probe", a.Probe, "period_ms", a.PeriodMS, "timeout_ms", a.TimeoutMS, "crash_after", a.CrashAfter}
	if a.DoIPAddress != "" {
		return append(attrs, "doip", a.DoIPAddress, "source_address", a.SourceAddress, "target_address", a.TargetAddress)
	}
	return append(attrs, "bus", a.Bus, "tx_id", a.TxID, "rx_id", a.RxID, "black_box", a.BlackBox)
}

// Shutdown stops probing, closes the transports and returns after its
// goroutines have exited. It is idempotent.
func (s *ECUWatchdogService) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	cancel, closer := s.cancel, s.closer
	s.cancel, s.closer = nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	err := closer() // ends the black box's Recv
	s.wg.Wait()
	st := s.status()
	s.log.Info(LogStopped, "probes", st.Probes, "replies", st.Replies, "missed", st.Missed,
		"crashes", st.Crashes, "resets", st.Resets, "state", st.State)
	if err != nil {
		return fmt.Errorf("%s: close: %w", Kind, err)
	}
	return nil
}

// Status returns the state and counters, with the last incident.
func (s *ECUWatchdogService) Status(ctx context.Context) (Status, error) {
	return s.status(), nil
}

// BlackBox returns the last frames seen on the CAN bus, oldest first
// (none with DoIP).
func (s *ECUWatchdogService) BlackBox(ctx context.Context) ([]Frame, error) {
	if s.box == nil {
		return []Frame{}, nil
	}
	return s.box.snapshot(), nil
}

func (s *ECUWatchdogService) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if st.LastIncident != nil {
		inc := *st.LastIncident
		st.LastIncident = &inc
	}
	return st
}
