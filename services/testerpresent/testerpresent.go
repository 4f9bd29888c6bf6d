package testerpresent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/diaglink"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/isotp"
)

// Kind is the name of the service in rig files and on the command line.
const Kind = "tester-present"

// Register makes the service spawnable as Kind.
func Register() { spawn.RegisterKind(Kind, New) }

// Defaults for zero Args fields.
const (
	DefaultBus                 = "virtual:bus0"
	DefaultTxID       hexid.ID = 0x7DF // functional request identifier of OBD/UDS on CAN
	DefaultRxID       hexid.ID = 0x7E8 // response identifier of the first ECU
	DefaultIntervalMS          = 2000
	DefaultP2MS                = int(uds.DefaultP2 / time.Millisecond)
	DefaultLostAfter           = 3
)

// Topics of the events a tester present service emits (service.Emit, on
// evt.<NAME>.<topic>) when it checks replies (suppress_response false).
const (
	// TopicECULost carries an ECULost: LostAfter periods in a row got no
	// valid reply.
	TopicECULost = "ecu_lost"
	// TopicECUBack carries an ECUBack: a valid reply after ecu_lost.
	TopicECUBack = "ecu_back"
)

// ECULost is the event of an ECU that stopped answering:
// {"missed": 3, "error": "uds: no response within P2"}.
type ECULost struct {
	Missed int    `json:"missed" doc:"Periods in a row without a valid reply."` // periods in a row without a valid reply
	Error  string `json:"error" doc:"Error of the last period."`                // the last period's error
}

// ECUBack is the event of an ECU that answers again after ecu_lost:
// {"missed": 12, "down_ms": 130}.
type ECUBack struct {
	Missed int   `json:"missed" doc:"Periods missed in all."`                      // periods missed in all
	DownMS int64 `json:"down_ms" doc:"Time since the first missed period, in ms."` // since the first missed period
}

// LogStopped is the message of the record a service logs at Shutdown,
// with its counters.
const LogStopped = "tester present shut down"

// Limits of the interval.
const (
	MinIntervalMS = 1
	MaxIntervalMS = 3_600_000 // one hour
	// S3ServerMS is the S3 server timeout of ISO 14229-2: an ECU drops a
	// non-default session after this long without a request, so an
	// interval at or above it is logged as a warning.
	S3ServerMS = 5000
)

// ErrInvalidArgs is matched (errors.Is) by the errors New returns for bad
// arguments. It is service.ErrInvalidArgs, which the argument
// errors of the other built-in services match too.
var ErrInvalidArgs = service.ErrInvalidArgs

// ErrNotInitialized is returned by Start before Initialize or after
// Shutdown.
var ErrNotInitialized = errors.New("tester-present: transport not open")

// Args configures a TesterPresentService. Zero fields take the documented
// defaults. With DoIPAddress set the requests go over DoIP and the CAN
// fields are not used. Identifiers and addresses are hexid.IDs: in JSON
// and rig files a number, "0x7DF" or "7DF".
type Args struct {
	// Bus is the CAN bus: "virtual:<name>" or "socketcan:<iface>".
	// Default DefaultBus.
	Bus string `json:"bus,omitempty" doc:"CAN bus: virtual:<name> or socketcan:<interface>; not used with DoIP."`
	// TxID is the identifier the requests are sent with (default 0x7DF,
	// the functional address); RxID the one replies come on (default
	// 0x7E8), used only when SuppressResponse is false. With Extended both
	// are 29-bit identifiers, e.g. 0x18DB33F1 and 0x18DAF110.
	TxID     hexid.ID `json:"tx_id,omitempty" validate:"lte=536870911" doc:"CAN identifier the requests are sent with (0x7DF: functional OBD/UDS)." example:"0x7DF"`
	RxID     hexid.ID `json:"rx_id,omitempty" validate:"lte=536870911" doc:"CAN identifier replies come on; used when suppress_response is false." example:"0x7E8"`
	Extended bool     `json:"extended,omitempty" doc:"29-bit identifiers (e.g. 0x18DB33F1, 0x18DAF110)." default:"false"`
	// Padding pads frames to 8 bytes with PadByte (default true, 0xCC).
	// Nil means the default, so JSON "padding": false turns it off.
	Padding *bool  `json:"padding,omitempty" doc:"Pad CAN frames to 8 bytes with pad_byte."`
	PadByte *uint8 `json:"pad_byte,omitempty" doc:"Byte the frames are padded with, 0 to 255 (204 is 0xCC)."`

	// DoIPAddress ("host:port") selects DoIP: the service connects to the
	// entity there and activates routing for SourceAddress (default
	// 0x0E00) before sending to TargetAddress (required with DoIP).
	// Functional says TargetAddress is a functional address such as
	// 0xE400, whose replies come from the entity's own address.
	DoIPAddress   string   `json:"doip_address,omitempty" doc:"DoIP entity host:port; set, the requests go over DoIP instead of CAN." example:"127.0.0.1:13400" default:"\"\" (CAN)"`
	SourceAddress hexid.ID `json:"source_address,omitempty" validate:"lte=65535" doc:"DoIP logical address of the tester, activated for routing." default:"\"0xE00\" (with DoIP)"`
	TargetAddress hexid.ID `json:"target_address,omitempty" validate:"lte=65535" doc:"DoIP logical address of the ECU; required with DoIP." example:"0x1001"`
	Functional    bool     `json:"functional,omitempty" doc:"target_address is a functional DoIP address (e.g. 0xE400); replies come from the entity's own address." default:"false"`

	// IntervalMS is the period of the requests (default 2000, 1 to
	// MaxIntervalMS). At or above S3ServerMS New logs a warning.
	IntervalMS int `json:"interval_ms,omitempty" validate:"gte=0,lte=3600000" doc:"Period of the requests, in ms; 5000 or more (the S3 timeout) logs a warning."`
	// SuppressResponse sends 3E 80, to which the ECU does not answer
	// (default true). False sends 3E 00 and expects 7E 00 within P2MS;
	// a missing or negative reply counts as an error. Nil means the
	// default, so JSON "suppress_response": false turns it off.
	SuppressResponse *bool `json:"suppress_response,omitempty" doc:"Send 3E 80, which the ECU does not answer; false sends 3E 00 and checks the reply within p2_ms."`
	// P2MS is how long to wait for the reply when SuppressResponse is
	// false (default 50, uds.DefaultP2). The wait is part of the period:
	// a wait longer than the interval makes the next deadlines be skipped.
	P2MS int `json:"p2_ms,omitempty" validate:"gte=0,lte=60000" doc:"Wait for a reply, in ms, when suppress_response is false; part of the period."`
	// Autostart starts sending at Initialize instead of at the first
	// start call (default false).
	Autostart bool `json:"autostart,omitempty" doc:"Start sending when the service starts; otherwise on the start method." default:"false"`
	// LostAfter is how many periods in a row without a valid reply make
	// the event ecu_lost (default 3); the next valid reply makes ecu_back.
	// Used only when SuppressResponse is false.
	LostAfter int `json:"lost_after,omitempty" validate:"gte=0" doc:"Periods in a row without a valid reply that emit ecu_lost (ecu_back follows the next reply); suppress_response false only."`
}

// normalize applies the defaults to the zero fields: the one place they
// are set. The CAN fields stay zero with DoIP.
func (a *Args) normalize() {
	a.IntervalMS = cmp.Or(a.IntervalMS, DefaultIntervalMS)
	a.P2MS = cmp.Or(a.P2MS, DefaultP2MS)
	a.LostAfter = cmp.Or(a.LostAfter, DefaultLostAfter)
	a.SuppressResponse = boolOr(a.SuppressResponse, true)
	if a.DoIPAddress != "" {
		a.SourceAddress = cmp.Or(a.SourceAddress, diaglink.DefaultSourceAddress)
		return
	}
	a.Bus = cmp.Or(a.Bus, DefaultBus)
	a.TxID = cmp.Or(a.TxID, DefaultTxID)
	a.RxID = cmp.Or(a.RxID, DefaultRxID)
	a.Padding = boolOr(a.Padding, true)
	if *a.Padding && a.PadByte == nil {
		b := uint8(isotp.DefaultPadByte)
		a.PadByte = &b
	} else if a.PadByte != nil {
		b := *a.PadByte
		a.PadByte = &b
	}
}

// check checks the normalized a, once: its validate tags, then what they
// cannot express. (Each rule is in one of the two places only.)
func (a *Args) check() error {
	if err := service.Validate(a); err != nil {
		return service.InvalidArgs(err)
	}
	if err := a.link().Check(); err != nil {
		return err
	}
	if a.DoIPAddress != "" && a.TargetAddress == 0 {
		return service.BadArgs("target_address is required with doip_address")
	}
	return nil
}

func boolOr(p *bool, def bool) *bool {
	if p != nil {
		def = *p
	}
	return &def
}

// TesterPresentService sends UDS Tester Present (0x3E) periodically to
// keep an ECU in a non-default diagnostic session. See the package
// documentation.
type TesterPresentService struct {
	args Args // with defaults
	clk  clock
	log  *slog.Logger // nil: slog.Default()

	interval atomic.Int64  // nanoseconds
	wake     chan struct{} // capacity 1: the interval changed

	// Set by Initialize, cleared by Shutdown.
	link    link
	tx      uds.Transport // link.t, counting what it sends
	client  *uds.Client   // when the reply is checked
	request []byte

	mu     sync.Mutex // guards link, tx, client, cancel, done
	cancel context.CancelFunc
	done   chan struct{}

	sent, errs, skipped atomic.Uint64
	answered            atomic.Uint64 // valid replies (suppress_response false)
	lat                 latencies

	errMu     sync.Mutex // guards the fields below
	lastErr   string
	streak    int             // consecutive failed periods
	streakAt  time.Time       // first failure of the streak
	lost      bool            // ecu_lost emitted, ecu_back not yet
	loggedAt  time.Time       // last warning about a failure
	eventsCtx context.Context // of Initialize, for service.Emit; nil before
}

// New checks args, applies the defaults and returns the service. Sending
// begins at Start, or at Initialize with Autostart.
func New(args Args) (*TesterPresentService, error) {
	return newService(args, nil, systemClock)
}

func newService(args Args, log *slog.Logger, clk clock) (*TesterPresentService, error) {
	a := args
	a.normalize()
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", Kind, err)
	}
	s := &TesterPresentService{args: a, clk: clk, log: log, wake: make(chan struct{}, 1)}
	s.interval.Store(int64(time.Duration(a.IntervalMS) * time.Millisecond))
	s.request = []byte{byte(uds.SIDTesterPresent), 0x80}
	if !*a.SuppressResponse {
		s.request[1] = 0x00
	}
	s.warnS3(a.IntervalMS)
	return s, nil
}

func (s *TesterPresentService) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

func (s *TesterPresentService) warnS3(ms int) {
	if ms >= S3ServerMS {
		s.logger().Warn("tester present interval at or above the S3 server timeout: the session may time out",
			"interval_ms", ms, "s3_ms", S3ServerMS)
	}
}

// Initialize opens the CAN bus and an ISO-TP connection on it, or
// connects to the DoIP entity and activates routing, and starts sending
// when Autostart is set.
func (s *TesterPresentService) Initialize(ctx context.Context) error {
	dl, err := s.args.link().Open(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", Kind, err)
	}
	l := link{t: dl, close: dl.Close}
	s.mu.Lock()
	s.link = l
	s.tx = counting{Transport: l.t, sent: &s.sent}
	s.errMu.Lock()
	s.eventsCtx = context.WithoutCancel(ctx)
	s.errMu.Unlock()
	if !*s.args.SuppressResponse {
		s.client = uds.NewClient(s.tx, uds.WithP2(time.Duration(s.args.P2MS)*time.Millisecond))
	}
	s.mu.Unlock()
	s.logger().Info("tester present ready", s.describe()...)
	if s.args.Autostart {
		return s.Start(ctx)
	}
	return nil
}

func (s *TesterPresentService) describe() []any {
	a := &s.args
	attrs := []any{"interval_ms", a.IntervalMS, "request", fmt.Sprintf("% X", s.request)}
	if a.DoIPAddress != "" {
		return append(attrs, "doip", a.DoIPAddress,
			"source_address", a.SourceAddress, "target_address", a.TargetAddress, "functional", a.Functional)
	}
	return append(attrs, "bus", a.Bus, "tx_id", a.TxID, "extended", a.Extended)
}

// Shutdown stops sending and closes the transport. It is idempotent.
func (s *TesterPresentService) Shutdown(ctx context.Context) error {
	s.stop()
	s.mu.Lock()
	l := s.link
	s.link, s.tx, s.client = link{}, nil, nil
	s.mu.Unlock()
	if l.close == nil {
		return nil
	}
	st, _ := s.Stats(ctx)
	s.logger().Info(LogStopped, "sent", st.Sent, "answered", s.answered.Load(), "errors", st.Errors,
		"skipped", st.Skipped, "lateness_p99_us", st.LatenessP99US)
	if err := l.close(); err != nil {
		return fmt.Errorf("%s: close: %w", Kind, err)
	}
	return nil
}

// Start begins sending: the first request goes out at once, the next ones
// every interval. Starting a running service does nothing.
func (s *TesterPresentService) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return ErrNotInitialized
	}
	if s.cancel != nil {
		return nil
	}
	lctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	sch := &schedule{
		clk:      s.clk,
		interval: func() time.Duration { return time.Duration(s.interval.Load()) },
		wake:     s.wake,
		tick:     s.makeTick(s.tx, s.client),
		skip:     func(n int64) { s.skipped.Add(uint64(n)) },
	}
	go func() {
		defer close(done)
		sch.run(lctx)
	}()
	s.logger().Info("tester present started", "interval_ms", s.intervalMS())
	return nil
}

// Stop stops sending and returns once no request is in flight. Stopping a
// stopped service does nothing.
func (s *TesterPresentService) Stop(ctx context.Context) error {
	if s.stop() {
		s.logger().Info("tester present stopped", "sent", s.sent.Load(), "errors", s.errs.Load())
	}
	return nil
}

func (s *TesterPresentService) stop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return false
	}
	s.cancel()
	<-s.done
	s.cancel, s.done = nil, nil
	return true
}

// IsRunning reports whether requests are being sent.
func (s *TesterPresentService) IsRunning(ctx context.Context) (bool, error) {
	return s.running(), nil
}

func (s *TesterPresentService) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancel != nil
}

// SetInterval changes the period to ms milliseconds (1 to MaxIntervalMS).
// When running, the next request is due ms after the last one's deadline.
func (s *TesterPresentService) SetInterval(ctx context.Context, ms int) error {
	if ms < MinIntervalMS || ms > MaxIntervalMS {
		return service.Errorf(service.CodeBadRequest, "set_interval: %d ms is outside %d–%d", ms, MinIntervalMS, MaxIntervalMS)
	}
	s.warnS3(ms)
	s.interval.Store(int64(time.Duration(ms) * time.Millisecond))
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}

func (s *TesterPresentService) intervalMS() int {
	return int(time.Duration(s.interval.Load()) / time.Millisecond)
}

// Stats returns the counters, the lateness percentiles and the last error.
func (s *TesterPresentService) Stats(ctx context.Context) (Stats, error) {
	p50, p99, maximum := s.lat.percentiles()
	s.errMu.Lock()
	last := s.lastErr
	s.errMu.Unlock()
	return Stats{
		Sent:          s.sent.Load(),
		Errors:        s.errs.Load(),
		Skipped:       s.skipped.Load(),
		LatenessP50US: p50.Microseconds(),
		LatenessP99US: p99.Microseconds(),
		LatenessMaxUS: maximum.Microseconds(),
		LastError:     last,
		IntervalMS:    s.intervalMS(),
		Running:       s.running(),
	}, nil
}

// makeTick returns the function that sends one request.
func (s *TesterPresentService) makeTick(tx uds.Transport, client *uds.Client) func(context.Context, time.Duration) {
	return func(ctx context.Context, lateness time.Duration) {
		s.lat.add(lateness)
		var err error
		if client != nil {
			err = client.TesterPresent(ctx, false)
		} else {
			err = tx.Send(ctx, s.request)
		}
		if ctx.Err() != nil {
			return // stopped meanwhile: not a failure of the period
		}
		if err == nil && client != nil {
			s.answered.Add(1)
		}
		s.result(err)
	}
}

// errorLogEvery is how often a failure that repeats is logged again.
const errorLogEvery = 5 * time.Second

// result counts and logs the outcome of one period. The first failure of a
// streak is logged, then each different error, and the same error again at
// most every errorLogEvery; the end of a streak is logged too.
func (s *TesterPresentService) result(err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	now := time.Now()
	if err == nil {
		if s.streak > 0 {
			s.logger().Info("tester present recovered", "failed_periods", s.streak)
			if s.lost {
				s.emit(TopicECUBack, ECUBack{Missed: s.streak, DownMS: now.Sub(s.streakAt).Milliseconds()})
				s.lost = false
			}
			s.streak = 0
		}
		return
	}
	s.errs.Add(1)
	s.streak++
	if s.streak == 1 {
		s.streakAt = now
	}
	msg := err.Error()
	if s.streak == s.args.LostAfter && !*s.args.SuppressResponse {
		s.lost = true
		s.emit(TopicECULost, ECULost{Missed: s.streak, Error: msg})
	}
	if s.streak == 1 || msg != s.lastErr || now.Sub(s.loggedAt) >= errorLogEvery {
		s.logger().Warn("tester present failed; retrying next period", "err", err, "consecutive", s.streak)
		s.loggedAt = now
	}
	s.lastErr = msg
}

// emit publishes an event; s.errMu must be held, which keeps events in
// the order of the periods. A failure is logged at debug level: events are
// a courtesy, the stats stay right.
func (s *TesterPresentService) emit(topic string, v any) {
	if s.eventsCtx == nil {
		return
	}
	if err := service.Emit(s.eventsCtx, topic, v); err != nil {
		s.logger().Debug("tester present: event not sent", "topic", topic, "err", err)
	}
}
