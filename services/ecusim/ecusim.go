package ecusim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// Kind is the name of the service for the command line and rig files.
const Kind = "ecu-sim"

// Register registers New under Kind with spawn.
func Register() { spawn.RegisterKind(Kind, New) }

// Defaults of the zero values of Args.
const (
	DefaultBus               = "virtual:bus0"
	DefaultRxID              = 0x7E0
	DefaultTxID              = 0x7E8
	DefaultFuncID            = 0x7DF
	DefaultFunctionalAddress = 0xE400
	DefaultVIN               = "BGKECUSM000000001"
	DefaultP2                = 50 * time.Millisecond
	DefaultP2Star            = 5 * time.Second
	DefaultS3                = 5 * time.Second
	DefaultSecurityLevel     = 0x01
	DefaultKeyXOR            = "AABBCCDD"
	DefaultSecurityAttempts  = 3
	DefaultSecurityDelay     = time.Second
)

// DIDVIN is the data identifier of the VIN, which answers Args.VIN unless
// Args.DIDs sets it.
const DIDVIN = 0xF190

// ErrInvalidArgs is wrapped by the errors of New for arguments it cannot
// use.
var ErrInvalidArgs = errors.New("invalid args")

// Args configures the ECU simulator. The zero value is valid: an ECU on
// virtual:bus0 at 0x7E0/0x7E8, without DoIP, with the defaults below.
type Args struct {
	// Bus is the CAN bus, "virtual:<name>" or "socketcan:<if>"; "" means
	// DefaultBus.
	Bus string `json:"bus"`
	// RxID is the CAN identifier of physical requests (0: 0x7E0), TxID the
	// one of responses (0: 0x7E8) and FuncID the one of functional
	// requests (0: 0x7DF), which are single frames only.
	RxID   uint32 `json:"rx_id" validate:"lte=536870911"`
	TxID   uint32 `json:"tx_id" validate:"lte=536870911"`
	FuncID uint32 `json:"func_id" validate:"lte=536870911"`
	// Extended selects 29-bit identifiers; FD CAN FD frames.
	Extended bool `json:"extended"`
	FD       bool `json:"fd"`
	// Padding pads ISO-TP frames to 8 bytes (CAN FD: the next valid
	// length) with PadByte (nil: true, and 0xCC), as in tester-present;
	// "padding": false sends frames no longer than their data (and
	// pad_byte is then an error).
	Padding *bool  `json:"padding"`
	PadByte *uint8 `json:"pad_byte"`

	// DoIPListen, when set, serves DoIP on this TCP (and UDP) address, such
	// as ":13400" or "127.0.0.1:0" (a port of the system's choice; the
	// doip_address method tells which).
	DoIPListen string `json:"doip_listen"`
	// LogicalAddress is the DoIP entity's address (0: 0x1000,
	// doip.DefaultEntityAddress); FunctionalAddress the DoIP functional
	// address it also answers (0: 0xE400).
	LogicalAddress    uint16 `json:"logical_address"`
	FunctionalAddress uint16 `json:"functional_address"`
	// VIN is the vehicle identification number, 17 characters ("":
	// DefaultVIN), reported by DoIP and by DID 0xF190.
	VIN string `json:"vin"`

	// P2Ms and P2StarMs are the timing that DiagnosticSessionControl
	// reports (0: 50 ms and 5000 ms).
	P2Ms     int `json:"p2_ms" validate:"gte=0,lte=65535"`
	P2StarMs int `json:"p2_star_ms" validate:"gte=0,lte=655350"`
	// S3Ms is the S3 server timeout of non-default sessions (0: 5000 ms).
	S3Ms int `json:"s3_ms" validate:"gte=0"`

	// DIDs are the data identifiers, hex DID to hex value:
	// {"F190": "57565A5A5A314A5A3357333836373532"}. Spaces in values are
	// ignored; values are not empty.
	DIDs map[string]string `json:"dids"`
	// WriteSecurity makes WriteDataByIdentifier need security access.
	WriteSecurity bool `json:"write_security"`

	// SecurityLevel is the odd requestSeed level of SecurityAccess (0:
	// 0x01); sendKey is the level after it.
	SecurityLevel uint8 `json:"security_level"`
	// Seed is a fixed seed in hex; "" gives a random seed per request. It
	// has the length of KeyXOR.
	Seed string `json:"seed"`
	// KeyXOR is the mask in hex: key = seed XOR mask ("": "AABBCCDD").
	KeyXOR string `json:"key_xor"`
	// SecurityAttempts is the number of invalid keys that starts the delay
	// (0: 3); SecurityDelayMs the delay (0: 1000 ms).
	SecurityAttempts int `json:"security_attempts" validate:"gte=0,lte=255"`
	SecurityDelayMs  int `json:"security_delay_ms" validate:"gte=0"`
}

// ECUSimService is a simulated ECU answering UDS over ISO-TP and DoIP.
type ECUSimService struct {
	args    Args
	tp      isotp.Config
	filters []can.Filter
	doipCfg *doip.ServerConfig // nil without DoIP
	log     *slog.Logger
	ecu     *ecu

	mu       sync.Mutex
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	bus      can.Bus
	conn     *isotp.Conn
	doip     *doip.Server
	doipAddr string
}

// New checks args, applies the defaults and returns the service. Its
// errors wrap ErrInvalidArgs.
func New(args Args) (*ECUSimService, error) {
	return newService(args, slog.Default())
}

func newService(args Args, log *slog.Logger) (*ECUSimService, error) {
	if err := service.Validate(&args); err != nil {
		return nil, fmt.Errorf("ecusim: %w: %w", ErrInvalidArgs, err)
	}
	s := &ECUSimService{log: log}
	cfg, err := s.configure(&args)
	if err != nil {
		return nil, fmt.Errorf("ecusim: %w: %w", ErrInvalidArgs, err)
	}
	s.args = args
	s.ecu = newECU(cfg, log)
	return s, nil
}

// configure applies the defaults to args and builds the configurations.
func (s *ECUSimService) configure(a *Args) (ecuConfig, error) {
	var cfg ecuConfig
	if a.Bus == "" {
		a.Bus = DefaultBus
	}
	if _, err := can.ParseSpec(a.Bus); err != nil {
		return cfg, fmt.Errorf("bus: %w", err)
	}
	a.RxID = orDefault(a.RxID, DefaultRxID)
	a.TxID = orDefault(a.TxID, DefaultTxID)
	a.FuncID = orDefault(a.FuncID, DefaultFuncID)
	idMask := uint32(0x7FF)
	if a.Extended {
		idMask = 0x1FFFFFFF
	}
	for _, id := range []struct {
		name string
		v    uint32
	}{{"rx_id", a.RxID}, {"tx_id", a.TxID}, {"func_id", a.FuncID}} {
		if id.v&^idMask != 0 {
			return cfg, fmt.Errorf("%s 0x%X does not fit an identifier of %d bits (set extended for 29-bit ones)", id.name, id.v, bitsOf(a.Extended))
		}
	}
	if a.RxID == a.TxID || a.FuncID == a.TxID || a.FuncID == a.RxID {
		return cfg, fmt.Errorf("rx_id 0x%X, tx_id 0x%X and func_id 0x%X must differ", a.RxID, a.TxID, a.FuncID)
	}
	var pad isotp.Padding
	switch {
	case a.Padding != nil && !*a.Padding && a.PadByte != nil:
		return cfg, errors.New("pad_byte with padding false")
	case a.Padding != nil && !*a.Padding:
		pad = isotp.NoPadding
	case a.PadByte != nil:
		pad = isotp.PadWith(*a.PadByte)
	}
	s.tp = isotp.Config{
		TxID: a.TxID, RxID: a.RxID, Extended: a.Extended,
		FunctionalID: a.FuncID, AcceptFunctional: true,
		FD: a.FD, Padding: pad,
	}
	flags := uint32(can.RTRFlag | can.EFFFlag)
	for _, id := range []uint32{a.RxID, a.FuncID} {
		f := can.Filter{ID: id, Mask: idMask | flags}
		if a.Extended {
			f.ID |= can.EFFFlag
		}
		s.filters = append(s.filters, f)
	}

	if a.VIN == "" {
		a.VIN = DefaultVIN
	}
	vin, err := doip.ParseVIN(a.VIN)
	if err != nil {
		return cfg, fmt.Errorf("vin: %w", err)
	}
	a.LogicalAddress = orDefault(a.LogicalAddress, doip.DefaultEntityAddress)
	a.FunctionalAddress = orDefault(a.FunctionalAddress, DefaultFunctionalAddress)
	if a.LogicalAddress == a.FunctionalAddress {
		return cfg, fmt.Errorf("logical_address and functional_address are both 0x%04X", a.LogicalAddress)
	}
	if a.DoIPListen != "" {
		if _, _, err := net.SplitHostPort(a.DoIPListen); err != nil {
			return cfg, fmt.Errorf("doip_listen: %w", err)
		}
		s.doipCfg = &doip.ServerConfig{
			Addr:                a.DoIPListen,
			LogicalAddress:      a.LogicalAddress,
			FunctionalAddresses: []uint16{a.FunctionalAddress},
			VIN:                 vin,
		}
	}

	a.P2Ms = orDefault(a.P2Ms, int(DefaultP2/time.Millisecond))
	a.P2StarMs = orDefault(a.P2StarMs, int(DefaultP2Star/time.Millisecond))
	a.S3Ms = orDefault(a.S3Ms, int(DefaultS3/time.Millisecond))
	cfg.p2 = time.Duration(a.P2Ms) * time.Millisecond
	cfg.p2Star = time.Duration(a.P2StarMs) * time.Millisecond
	cfg.s3 = time.Duration(a.S3Ms) * time.Millisecond

	cfg.dids = make(map[uint16][]byte, len(a.DIDs)+1)
	for k, v := range a.DIDs {
		did, err := parseDID(k)
		if err != nil {
			return cfg, fmt.Errorf("dids: %w", err)
		}
		if _, dup := cfg.dids[did]; dup {
			return cfg, fmt.Errorf("dids: %04X given twice", did)
		}
		data, err := parseHex(v)
		if err == nil && len(data) == 0 {
			err = errors.New("empty value")
		}
		if err != nil {
			return cfg, fmt.Errorf("dids: %s: %w", k, err)
		}
		cfg.dids[did] = data
	}
	if _, ok := cfg.dids[DIDVIN]; !ok {
		cfg.dids[DIDVIN] = vin[:]
	}
	cfg.writeSecurity = a.WriteSecurity

	a.SecurityLevel = orDefault(a.SecurityLevel, DefaultSecurityLevel)
	if a.SecurityLevel%2 == 0 || a.SecurityLevel > 0x7D {
		return cfg, fmt.Errorf("security_level 0x%02X: want an odd level from 0x01 to 0x7D", a.SecurityLevel)
	}
	cfg.level = a.SecurityLevel
	if a.KeyXOR == "" {
		a.KeyXOR = DefaultKeyXOR
	}
	if cfg.keyXOR, err = parseHex(a.KeyXOR); err != nil || len(cfg.keyXOR) == 0 {
		return cfg, fmt.Errorf("key_xor %q: want 1 or more bytes in hex", a.KeyXOR)
	}
	if a.Seed != "" {
		if cfg.seed, err = parseHex(a.Seed); err != nil {
			return cfg, fmt.Errorf("seed: %w", err)
		}
		if len(cfg.seed) != len(cfg.keyXOR) {
			return cfg, fmt.Errorf("seed has %d bytes, key_xor %d: they must match", len(cfg.seed), len(cfg.keyXOR))
		}
		if allZero(cfg.seed) {
			return cfg, errors.New("seed is all zeros, which means already unlocked")
		}
	}
	a.SecurityAttempts = orDefault(a.SecurityAttempts, DefaultSecurityAttempts)
	a.SecurityDelayMs = orDefault(a.SecurityDelayMs, int(DefaultSecurityDelay/time.Millisecond))
	cfg.maxAttempts = a.SecurityAttempts
	cfg.delay = time.Duration(a.SecurityDelayMs) * time.Millisecond
	return cfg, nil
}

// Initialize opens the CAN bus, starts answering on it and, with
// doip_listen, starts the DoIP entity.
func (s *ECUSimService) Initialize(ctx context.Context) (err error) {
	b, ok := service.BusFrom(ctx)
	if !ok {
		return errors.New("ecusim: initialize: no bus in context")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if err != nil {
			s.stopLocked()
		}
	}()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.ecu.emit = func(topic string, v any) {
		if err := service.Emit(runCtx, topic, v); err != nil {
			s.log.Debug("ecusim: event not sent", "topic", topic, "err", err)
		}
	}

	cb, err := can.Open(ctx, s.args.Bus, can.WithNATS(b.Conn()), can.WithFilters(s.filters...))
	if err != nil {
		return fmt.Errorf("ecusim: open %s: %w", s.args.Bus, err)
	}
	s.bus = cb
	conn, err := isotp.New(cb, s.tp)
	if err != nil {
		return fmt.Errorf("ecusim: isotp: %w", err)
	}
	s.conn = conn
	s.wg.Go(func() { s.serveISOTP(runCtx, conn) })

	if s.doipCfg != nil {
		cfg := *s.doipCfg
		cfg.Logger = s.log
		cfg.Handler = func(ctx context.Context, _, ta uint16, data []byte) ([]byte, bool) {
			return s.ecu.handle(ctx, data, ta == s.args.FunctionalAddress)
		}
		srv, err := doip.Listen(cfg)
		if err != nil {
			return fmt.Errorf("ecusim: doip: %w", err)
		}
		s.doip = srv
		s.doipAddr = srv.Addr().String()
		s.wg.Go(func() {
			if err := srv.Run(runCtx); err != nil {
				s.log.Error("ecusim: doip server stopped", "err", err)
			}
		})
	}
	s.log.Info("ECU simulator ready",
		"bus", s.args.Bus, "rx_id", hexID(s.args.RxID), "tx_id", hexID(s.args.TxID), "func_id", hexID(s.args.FuncID),
		"doip_address", s.doipAddr, "s3", s.ecu.cfg.s3)
	return nil
}

// serveISOTP answers the requests received on conn until ctx ends or the
// bus fails. Failed receptions and sends are counted and logged at debug
// level; the ECU goes on.
func (s *ECUSimService) serveISOTP(ctx context.Context, conn *isotp.Conn) {
	for {
		m, err := conn.RecvMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || !receptionError(err) {
				if ctx.Err() == nil {
					s.log.Error("ecusim: ISO-TP receiver stopped", "err", err)
				}
				return
			}
			s.ecu.countTransportError(true)
			s.log.Debug("ecusim: ISO-TP reception failed", "err", err)
			continue
		}
		resp, ok := s.ecu.handle(ctx, m.Data, m.Functional)
		if !ok {
			continue
		}
		if err := conn.Send(ctx, resp); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.ecu.countTransportError(false)
			s.log.Debug("ecusim: ISO-TP send failed", "err", err)
		}
	}
}

// receptionError reports whether err is the failure of one reception,
// after which the Conn receives the next message.
func receptionError(err error) bool {
	for _, e := range []error{isotp.ErrTimeoutCr, isotp.ErrWrongSequence, isotp.ErrWrongLength, isotp.ErrTruncated, isotp.ErrUnexpectedPDU} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Shutdown stops answering, closes the bus and the DoIP entity, and
// returns after its goroutines have exited. It is idempotent.
func (s *ECUSimService) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	return nil
}

// stopLocked stops everything started; s.mu must be held.
func (s *ECUSimService) stopLocked() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.doip != nil {
		s.doip.Close() // for a server whose Run never started
	}
	if s.conn != nil {
		s.conn.Close() // ends serveISOTP's Recv
	}
	s.wg.Wait()
	if s.bus != nil {
		s.bus.Close()
	}
	s.cancel, s.doip, s.conn, s.bus = nil, nil, nil, nil
	s.ecu.close()
}

// SessionInfo is the result of the session method.
type SessionInfo struct {
	Session          uint8  `json:"session"`      // 1 default, 2 programming, 3 extended
	Name             string `json:"session_name"` // e.g. "extendedDiagnosticSession"
	S3Expiries       uint64 `json:"s3_expiries"`
	SecurityUnlocked bool   `json:"security_unlocked"`
}

// Stats are the counters of the stats method.
type Stats struct {
	Requests   uint64 `json:"requests"`
	Positive   uint64 `json:"positive"`
	Negative   uint64 `json:"negative"`
	NoResponse uint64 `json:"no_response"` // suppressed responses
	// BySID counts requests by service identifier in hex ("22"), ByNRC
	// negative responses by code ("31"), suppressed ones of functional
	// requests included.
	BySID            map[string]uint64 `json:"by_sid"`
	ByNRC            map[string]uint64 `json:"by_nrc"`
	SessionChanges   uint64            `json:"session_changes"`
	Resets           uint64            `json:"resets"`
	S3Expiries       uint64            `json:"s3_expiries"`
	RxErrors         uint64            `json:"rx_errors"` // failed ISO-TP receptions
	TxErrors         uint64            `json:"tx_errors"` // failed ISO-TP sends
	Session          uint8             `json:"session"`
	SecurityUnlocked bool              `json:"security_unlocked"`
	DIDs             int               `json:"dids"`
	DoIPAddress      string            `json:"doip_address,omitempty"`
}

// DIDValue is a data identifier and its value, both in hex.
type DIDValue struct {
	DID  string `json:"did" validate:"required"`
	Data string `json:"data,omitempty"`
}

// Session returns the active diagnostic session and the S3 expiries.
func (s *ECUSimService) Session(ctx context.Context) (SessionInfo, error) {
	return s.ecu.sessionInfo(), nil
}

// Stats returns the counters.
func (s *ECUSimService) Stats(ctx context.Context) (Stats, error) {
	st := s.ecu.stats()
	st.DoIPAddress = s.doipAddress()
	return st, nil
}

// SetDID sets the value of a data identifier, adding it if new.
func (s *ECUSimService) SetDID(ctx context.Context, v DIDValue) error {
	did, err := parseDID(v.DID)
	if err != nil {
		return service.BadRequest(err)
	}
	data, err := parseHex(v.Data)
	if err == nil && len(data) == 0 {
		err = errors.New("empty value")
	}
	if err != nil {
		return service.BadRequest(fmt.Errorf("data: %w", err))
	}
	s.ecu.setDID(did, data)
	return nil
}

// GetDID returns the value of a data identifier; in.Data is ignored.
func (s *ECUSimService) GetDID(ctx context.Context, in DIDValue) (DIDValue, error) {
	did, err := parseDID(in.DID)
	if err != nil {
		return DIDValue{}, service.BadRequest(err)
	}
	v, ok := s.ecu.getDID(did)
	if !ok {
		return DIDValue{}, service.Errorf(service.CodeBadRequest, "unknown data identifier %04X", did)
	}
	return DIDValue{DID: fmt.Sprintf("%04X", did), Data: fmt.Sprintf("%X", v)}, nil
}

// DoipAddress returns the TCP address the DoIP entity listens on ("host:port",
// the port chosen when doip_listen asked for port 0), or "" without DoIP.
// (Its endpoint is doip_address.)
func (s *ECUSimService) DoipAddress(ctx context.Context) (string, error) {
	return s.doipAddress(), nil
}

func (s *ECUSimService) doipAddress() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doipAddr
}

// parseDID parses a data identifier of 4 hex digits, with an optional 0x.
func parseDID(s string) (uint16, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t) != 4 {
		return 0, fmt.Errorf("data identifier %q: want 4 hex digits", s)
	}
	v, err := strconv.ParseUint(t, 16, 16)
	if err != nil {
		return 0, fmt.Errorf("data identifier %q: want 4 hex digits", s)
	}
	return uint16(v), nil
}

// parseHex decodes hex bytes, with an optional 0x and spaces ignored.
func parseHex(s string) ([]byte, error) {
	t := strings.ReplaceAll(s, " ", "")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	b, err := hex.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("%q is not hex bytes: %w", s, err)
	}
	return b, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func bitsOf(extended bool) int {
	if extended {
		return 29
	}
	return 11
}

func hexID(id uint32) string { return fmt.Sprintf("0x%X", id) }

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}
