package diagtraffic

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/diaglink"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds"
)

// Kind is the name of the service in rig files and on the command line.
const Kind = "diag-traffic"

// Register makes the service spawnable as Kind.
func Register() { spawn.RegisterKind(Kind, New) }

// Name is the default service name, derived from DiagTrafficService.
const Name = "DIAG_TRAFFIC_SERVICE"

// Defaults of the zero values of Args.
const (
	DefaultBus                = "virtual:bus0"
	DefaultTxID      hexid.ID = 0x7E0
	DefaultRxID      hexid.ID = 0x7E8
	DefaultTimeoutMS          = 1000
)

// ErrInvalidArgs is matched (errors.Is) by the errors New returns for bad
// arguments. It is service.ErrInvalidArgs, which the argument
// errors of the other built-in services match too.
var ErrInvalidArgs = service.ErrInvalidArgs

// ErrNotInitialized is returned by Start before Initialize or after
// Shutdown.
var ErrNotInitialized = errors.New("diag-traffic: transport not open")

// Request is one UDS request of the script, sent every PeriodMS.
type Request struct {
	// Name names the request in stats and logs ("": its data in hex).
	Name string `json:"name,omitempty" doc:"Name of the request in stats and logs." default:"its data in hex"`
	// Data is the request in hex, service identifier first: "22 F1 90"
	// (spaces ignored, optional 0x).
	Data string `json:"data" validate:"required" doc:"The UDS request in hex, service identifier first (spaces and 0x allowed)." example:"22 F1 90"`
	// PeriodMS is the period of the request, 1 ms to one hour.
	PeriodMS int `json:"period_ms" validate:"required,min=1,max=3600000" doc:"Period of the request, in ms." example:"100"`
	// Expect is the start of the expected reply in hex ("62 F1 90");
	// a negative response is written 7F <sid> <nrc>. "" expects a positive
	// response.
	Expect string `json:"expect,omitempty" doc:"Start of the expected reply in hex, e.g. 62 F1 90; a negative one is 7F <sid> <nrc>." default:"\"\" (any positive response)"`
	// Count is how many times to send it (0: until the run ends).
	Count int `json:"count,omitempty" validate:"gte=0" doc:"Times the request is sent; 0: until the run ends." default:"0"`
}

// Args configures the traffic. Identifiers and addresses are hexid.IDs: a
// number, "0x7E0" or "7E0".
type Args struct {
	// Bus, TxID (0: 0x7E0), RxID (0: 0x7E8), Extended, Padding (nil: true)
	// and PadByte (nil: 0xCC) are the ISO-TP link to the ECU.
	Bus      string   `json:"bus,omitempty" doc:"CAN bus: virtual:<name> or socketcan:<interface>; not used with DoIP."`
	TxID     hexid.ID `json:"tx_id,omitempty" validate:"lte=536870911" doc:"CAN identifier the requests are sent with (the ECU's physical request ID)." example:"0x7E0"`
	RxID     hexid.ID `json:"rx_id,omitempty" validate:"lte=536870911" doc:"CAN identifier of the ECU's responses." example:"0x7E8"`
	Extended bool     `json:"extended,omitempty" doc:"29-bit CAN identifiers." default:"false"`
	Padding  *bool    `json:"padding,omitempty" doc:"Pad ISO-TP frames to 8 bytes with pad_byte."`
	PadByte  *uint8   `json:"pad_byte,omitempty" doc:"Byte the frames are padded with, 0 to 255." default:"204 (0xCC)"`

	// DoIPAddress ("host:port") sends over DoIP instead, from
	// SourceAddress (0: 0x0E00) to TargetAddress (0: the entity's address
	// from routing activation).
	DoIPAddress   string   `json:"doip_address,omitempty" doc:"DoIP entity host:port; set, the requests go over DoIP instead of CAN." example:"127.0.0.1:13400" default:"\"\" (CAN)"`
	SourceAddress hexid.ID `json:"source_address,omitempty" validate:"lte=65535" doc:"DoIP logical address of the tester." default:"\"0xE00\" (with DoIP)"`
	TargetAddress hexid.ID `json:"target_address,omitempty" validate:"lte=65535" doc:"DoIP logical address of the ECU." default:"the entity's (routing activation)"`

	// Requests is the script: at least one request.
	Requests []Request `json:"requests" validate:"required,min=1,dive" doc:"The script: UDS requests, each sent with its own period."`
	// TimeoutMS is how long to wait for a reply (P2; 0: 1000). After a
	// response pending the client waits P2* (5 s).
	TimeoutMS int `json:"timeout_ms,omitempty" validate:"gte=0,lte=60000" doc:"Wait for a reply (P2), in ms; after a response pending, 5000 ms (P2*)."`
	// DurationMS ends the run after this long (0: when every request with
	// a count has been sent that often, or at stop); at most a year.
	DurationMS int `json:"duration_ms,omitempty" validate:"gte=0,lte=31536000000" doc:"Length of a run, in ms; 0: until every request with a count is done, or stop." default:"0"`
	// Autostart starts the run at Initialize instead of at start.
	Autostart bool `json:"autostart,omitempty" doc:"Start the run when the service starts; otherwise on the start method." default:"false"`
}

// script is a request decoded.
type script struct {
	name   string
	data   []byte
	period time.Duration
	expect []byte // nil: a positive response
	count  int
}

// normalize applies the defaults: the one place they are set.
func (a *Args) normalize() {
	a.TimeoutMS = cmp.Or(a.TimeoutMS, DefaultTimeoutMS)
	for i := range a.Requests {
		r := &a.Requests[i]
		r.Name = cmp.Or(r.Name, strings.ToUpper(strings.Join(strings.Fields(r.Data), " ")))
	}
	if a.DoIPAddress != "" {
		a.SourceAddress = cmp.Or(a.SourceAddress, diaglink.DefaultSourceAddress)
		return
	}
	a.Bus = cmp.Or(a.Bus, DefaultBus)
	a.TxID = cmp.Or(a.TxID, DefaultTxID)
	a.RxID = cmp.Or(a.RxID, DefaultRxID)
	a.Padding = cmp.Or(a.Padding, new(true))
}

// check checks the normalized a once and decodes the script.
func (a *Args) check() ([]script, error) {
	if err := service.Validate(a); err != nil {
		return nil, service.InvalidArgs(err)
	}
	if err := a.link().Check(); err != nil {
		return nil, err
	}
	out := make([]script, len(a.Requests))
	names := make(map[string]bool)
	for i, r := range a.Requests {
		data, err := parseHex(r.Data)
		if err == nil && len(data) == 0 {
			err = errors.New("empty")
		}
		if err != nil {
			return nil, service.BadArgs("requests[%d].data: %v", i, err)
		}
		var expect []byte
		if r.Expect != "" {
			if expect, err = parseHex(r.Expect); err != nil {
				return nil, service.BadArgs("requests[%d].expect: %v", i, err)
			}
		}
		if names[r.Name] {
			return nil, service.BadArgs("requests[%d].name %q: given twice", i, r.Name)
		}
		names[r.Name] = true
		out[i] = script{name: r.Name, data: data, period: time.Duration(r.PeriodMS) * time.Millisecond, expect: expect, count: r.Count}
	}
	return out, nil
}

// DiagTrafficService sends a script of UDS requests and checks the
// replies. See the package documentation.
type DiagTrafficService struct {
	args   Args
	script []script
	log    *slog.Logger

	mu      sync.Mutex // guards the fields below
	client  *uds.Client
	closer  func() error
	evCtx   context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	stopped string // why the run is being stopped: "stopped", "shutdown"
	stats   []*requestStats
	ended   string // reason of the last run's end
	started time.Time
}

// New applies the defaults to args, checks them once and returns the
// service. Its errors match ErrInvalidArgs.
func New(args Args) (*DiagTrafficService, error) {
	return newService(args, slog.Default())
}

func newService(args Args, log *slog.Logger) (*DiagTrafficService, error) {
	args.normalize()
	sc, err := args.check()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Kind, err)
	}
	s := &DiagTrafficService{args: args, script: sc, log: log}
	s.stats = make([]*requestStats, len(sc))
	for i, r := range sc {
		s.stats[i] = &requestStats{name: r.name}
	}
	return s, nil
}

// Initialize opens the transport, and starts the run with autostart.
func (s *DiagTrafficService) Initialize(ctx context.Context) error {
	l, err := s.args.link().Open(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", Kind, err)
	}
	s.mu.Lock()
	s.client = uds.NewClient(l, uds.WithP2(time.Duration(s.args.TimeoutMS)*time.Millisecond))
	s.closer = l.Close
	s.evCtx = context.WithoutCancel(ctx)
	s.mu.Unlock()
	s.log.Info("diagnostic traffic ready", "requests", len(s.script), "transport", s.transportName())
	if s.args.Autostart {
		return s.Start(ctx)
	}
	return nil
}

func (s *DiagTrafficService) transportName() string {
	if s.args.DoIPAddress != "" {
		return "doip " + s.args.DoIPAddress
	}
	return fmt.Sprintf("isotp %s %v/%v", s.args.Bus, s.args.TxID, s.args.RxID)
}

// link is the link part of a, which diaglink checks and opens.
func (a *Args) link() diaglink.Config {
	return diaglink.Config{Bus: a.Bus, TxID: a.TxID, RxID: a.RxID, Extended: a.Extended, Padding: a.Padding, PadByte: a.PadByte,
		DoIPAddress: a.DoIPAddress, SourceAddress: a.SourceAddress, TargetAddress: a.TargetAddress}
}

// Start begins a run: every request goes out at once, then every period.
// Counters add up over runs. Starting a running service does nothing.
func (s *DiagTrafficService) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return ErrNotInitialized
	}
	if s.cancel != nil {
		return nil
	}
	var (
		rctx   context.Context
		cancel context.CancelFunc
	)
	// The start is taken before the deadline is set, so that a run cut by
	// its duration never reports less than that duration.
	started := time.Now()
	if s.args.DurationMS > 0 {
		rctx, cancel = context.WithDeadline(context.Background(), started.Add(time.Duration(s.args.DurationMS)*time.Millisecond))
	} else {
		rctx, cancel = context.WithCancel(context.Background())
	}
	done := make(chan struct{})
	s.cancel, s.done, s.stopped, s.ended, s.started = cancel, done, "", "", started
	client, evCtx := s.client, s.evCtx
	go func() {
		defer close(done)
		reason := s.run(rctx, client)
		cancel()
		s.end(evCtx, reason)
	}()
	s.log.Info("diagnostic traffic started", "requests", len(s.script))
	return nil
}

// Stop ends the run and returns once no request is in flight; the run
// ends with reason "stopped". Stopping a stopped service does nothing.
func (s *DiagTrafficService) Stop(ctx context.Context) error {
	s.stop(ReasonStopped)
	return nil
}

func (s *DiagTrafficService) stop(reason string) {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	if cancel != nil && s.stopped == "" {
		s.stopped = reason
	}
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Shutdown ends the run (reason "shutdown") and closes the transport. It
// is idempotent.
func (s *DiagTrafficService) Shutdown(ctx context.Context) error {
	s.stop(ReasonShutdown)
	s.mu.Lock()
	closer := s.closer
	s.closer, s.client = nil, nil
	s.mu.Unlock()
	if closer == nil {
		return nil
	}
	st := s.snapshot()
	s.log.Info(LogStopped, "sent", st.Sent, "ok", st.OK, "mismatched", st.Mismatched, "nrc", st.NRC,
		"timeouts", st.Timeouts, "errors", st.Errors)
	if err := closer(); err != nil {
		return fmt.Errorf("%s: close: %w", Kind, err)
	}
	return nil
}

// Stats returns the counters and latencies, in all and per request.
func (s *DiagTrafficService) Stats(ctx context.Context) (Stats, error) {
	return s.snapshot(), nil
}

// IsRunning reports whether a run is going on.
func (s *DiagTrafficService) IsRunning(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancel != nil, nil
}

// parseHex decodes hex bytes, with an optional 0x and spaces ignored.
func parseHex(s string) ([]byte, error) {
	t := strings.ReplaceAll(s, " ", "")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	b, err := hex.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("%q is not hex bytes", s)
	}
	return b, nil
}
