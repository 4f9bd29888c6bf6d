package ecusim

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// Kind is the name of the service for the command line and rig files.
const Kind = "ecu-sim"

// Register registers New under Kind with spawn.
func Register() { spawn.RegisterKind(Kind, New) }

// Defaults of the zero values of Args.
const (
	DefaultBus                        = "virtual:bus0"
	DefaultRxID              hexid.ID = 0x7E0
	DefaultTxID              hexid.ID = 0x7E8
	DefaultFuncID            hexid.ID = 0x7DF
	DefaultFunctionalAddress hexid.ID = 0xE400
	DefaultVIN                        = "BGKECUSM000000001"
	DefaultP2                         = 50 * time.Millisecond
	DefaultP2Star                     = 5 * time.Second
	DefaultS3                         = 5 * time.Second
	DefaultSecurityLevel              = 0x01
	DefaultKeyXOR                     = "AABBCCDD"
	DefaultSecurityAttempts           = 3
	DefaultSecurityDelay              = time.Second
)

// DIDVIN is the data identifier of the VIN, which answers Args.VIN unless
// Args.DIDs sets it.
const DIDVIN = 0xF190

// DIDActiveSession is the data identifier of the active diagnostic session
// (ISO 14229-1 activeDiagnosticSessionDataIdentifier): one byte, 01
// default, 02 programming, 03 extended. It answers the live session
// unless Args.DIDs sets it.
const DIDActiveSession = 0xF186

// ErrInvalidArgs is matched (errors.Is) by the errors of New for
// arguments it cannot use. It is service.ErrInvalidArgs, which the argument
// errors of the other built-in services match too.
var ErrInvalidArgs = service.ErrInvalidArgs

// Args configures the ECU simulator. The zero value is valid: an ECU on
// virtual:bus0 at 0x7E0/0x7E8, without DoIP, with the defaults below.
// Identifiers (CAN IDs, DoIP addresses, DIDs) are hexid.IDs: in JSON and
// rig files a number, "0x7E0" or "7E0".
type Args struct {
	// Bus is the CAN bus, "virtual:<name>" or "socketcan:<if>"; "" means
	// DefaultBus.
	Bus string `json:"bus" doc:"CAN bus: virtual:<name> or socketcan:<interface>."`
	// RxID is the CAN identifier of physical requests (0: 0x7E0), TxID the
	// one of responses (0: 0x7E8) and FuncID the one of functional
	// requests (0: 0x7DF), which are single frames only.
	RxID   hexid.ID `json:"rx_id" validate:"lte=536870911" doc:"CAN identifier of the physical requests the ECU answers."`
	TxID   hexid.ID `json:"tx_id" validate:"lte=536870911" doc:"CAN identifier of the ECU's responses."`
	FuncID hexid.ID `json:"func_id" validate:"lte=536870911" doc:"CAN identifier of functional requests (single frames only)."`
	// Extended selects 29-bit identifiers; FD CAN FD frames.
	Extended bool `json:"extended" doc:"29-bit CAN identifiers."`
	FD       bool `json:"fd" doc:"Send CAN FD frames."`
	// Padding pads ISO-TP frames to 8 bytes (CAN FD: the next valid
	// length) with PadByte (nil: true, and 0xCC), as in tester-present;
	// "padding": false sends frames no longer than their data (and
	// pad_byte is then an error).
	Padding *bool  `json:"padding" doc:"Pad ISO-TP frames to 8 bytes (CAN FD: the next valid length); false sends frames no longer than their data." default:"true"`
	PadByte *uint8 `json:"pad_byte" doc:"Byte the frames are padded with, 0 to 255; an error with padding false." default:"204 (0xCC)"`

	// DoIPListen, when set, serves DoIP on this TCP (and UDP) address, such
	// as ":13400" or "127.0.0.1:0" (a port of the system's choice; the
	// doip_address method tells which).
	DoIPListen string `json:"doip_listen" doc:"Serve DoIP on this TCP and UDP address, e.g. :13400, or 127.0.0.1:0 for a free port (see doip_address); empty: no DoIP." example:"127.0.0.1:13400"`
	// LogicalAddress is the DoIP entity's address (0: 0x1000,
	// doip.DefaultEntityAddress); FunctionalAddress the DoIP functional
	// address it also answers (0: 0xE400), from its logical address.
	LogicalAddress    hexid.ID `json:"logical_address" validate:"lte=65535" doc:"DoIP logical address of the entity."`
	FunctionalAddress hexid.ID `json:"functional_address" validate:"lte=65535" doc:"DoIP functional address the entity also answers."`
	// VIN is the vehicle identification number, 17 characters ("":
	// DefaultVIN), reported by DoIP and by DID 0xF190.
	VIN string `json:"vin" doc:"Vehicle identification number, 17 characters, reported by DoIP and DID 0xF190."`

	// P2Ms and P2StarMs are the timing that DiagnosticSessionControl
	// reports (0: 50 ms and 5000 ms).
	P2Ms     int `json:"p2_ms" validate:"gte=0,lte=65535" doc:"P2 server time the session control response reports, in ms."`
	P2StarMs int `json:"p2_star_ms" validate:"gte=0,lte=655350" doc:"P2* server time the session control response reports, in ms."`
	// S3Ms is the S3 server timeout of non-default sessions (0: 5000 ms;
	// at most a day).
	S3Ms int `json:"s3_ms" validate:"gte=0,lte=86400000" doc:"S3 timeout, in ms: a non-default session without requests that long falls back to the default session."`

	// DIDs are the data identifiers and their values in hex:
	// {"F190": "57565A5A5A314A5A3357333836373532"}. Spaces in values are
	// ignored; values are not empty.
	DIDs map[hexid.ID]string `json:"dids" doc:"Data identifiers and their values in hex (spaces ignored), e.g. {\"F190\": \"5756...\"}; F190 (vin) and F186 (session) answer unless set here." example:"{\"F187\":\"0102\"}" default:"none"`
	// WriteSecurity makes WriteDataByIdentifier need security access.
	WriteSecurity bool `json:"write_security" doc:"WriteDataByIdentifier needs security access."`

	// SecurityLevel is the odd requestSeed level of SecurityAccess (0:
	// 0x01); sendKey is the level after it.
	SecurityLevel uint8 `json:"security_level" doc:"Odd requestSeed level of SecurityAccess; sendKey is the level after it."`
	// Seed is a fixed seed in hex; "" gives a random seed per request. It
	// has the length of KeyXOR.
	Seed string `json:"seed" doc:"Fixed seed in hex, as long as key_xor; empty: a random seed per request."`
	// KeyXOR is the mask in hex: key = seed XOR mask ("": "AABBCCDD").
	KeyXOR string `json:"key_xor" doc:"Mask in hex: the valid key is the seed XOR this mask."`
	// SecurityAttempts is the number of invalid keys that starts the delay
	// (0: 3); SecurityDelayMs the delay (0: 1000 ms; at most a day).
	SecurityAttempts int `json:"security_attempts" validate:"gte=0,lte=255" doc:"Invalid keys in a row that start the lockout delay."`
	SecurityDelayMs  int `json:"security_delay_ms" validate:"gte=0,lte=86400000" doc:"Lockout delay after too many invalid keys, in ms."`
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

// New applies the defaults to args, checks them and returns the service.
// Its errors match ErrInvalidArgs.
func New(args Args) (*ECUSimService, error) {
	return newService(args, slog.Default())
}

func newService(args Args, log *slog.Logger) (*ECUSimService, error) {
	args.normalize()
	s := &ECUSimService{log: log}
	cfg, err := s.configure(&args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Kind, err)
	}
	s.args = args
	s.ecu = newECU(cfg, log)
	return s, nil
}

// normalize applies the defaults to the zero fields: the one place they
// are set.
func (a *Args) normalize() {
	a.Bus = cmp.Or(a.Bus, DefaultBus)
	a.RxID = cmp.Or(a.RxID, DefaultRxID)
	a.TxID = cmp.Or(a.TxID, DefaultTxID)
	a.FuncID = cmp.Or(a.FuncID, DefaultFuncID)
	a.VIN = cmp.Or(a.VIN, DefaultVIN)
	a.LogicalAddress = cmp.Or(a.LogicalAddress, hexid.ID(doip.DefaultEntityAddress))
	a.FunctionalAddress = cmp.Or(a.FunctionalAddress, DefaultFunctionalAddress)
	a.P2Ms = cmp.Or(a.P2Ms, int(DefaultP2/time.Millisecond))
	a.P2StarMs = cmp.Or(a.P2StarMs, int(DefaultP2Star/time.Millisecond))
	a.S3Ms = cmp.Or(a.S3Ms, int(DefaultS3/time.Millisecond))
	a.SecurityLevel = cmp.Or(a.SecurityLevel, DefaultSecurityLevel)
	a.KeyXOR = cmp.Or(a.KeyXOR, DefaultKeyXOR)
	a.SecurityAttempts = cmp.Or(a.SecurityAttempts, DefaultSecurityAttempts)
	a.SecurityDelayMs = cmp.Or(a.SecurityDelayMs, int(DefaultSecurityDelay/time.Millisecond))
}

// configure checks the normalized a, once: its validate tags, then what
// they cannot express; and builds the configurations.
func (s *ECUSimService) configure(a *Args) (ecuConfig, error) {
	var cfg ecuConfig
	if err := service.Validate(a); err != nil {
		return cfg, service.InvalidArgs(err)
	}
	if _, err := can.ParseSpec(a.Bus); err != nil {
		return cfg, service.BadArgs("bus: %v", err)
	}
	idMask := hexid.ID(0x7FF)
	if a.Extended {
		idMask = 0x1FFFFFFF
	}
	for _, id := range []struct {
		name string
		v    hexid.ID
	}{{"rx_id", a.RxID}, {"tx_id", a.TxID}, {"func_id", a.FuncID}} {
		if id.v&^idMask != 0 {
			return cfg, service.BadArgs("%s %v does not fit an identifier of %d bits (set extended for 29-bit ones)", id.name, id.v, bitsOf(a.Extended))
		}
	}
	if a.RxID == a.TxID || a.FuncID == a.TxID || a.FuncID == a.RxID {
		return cfg, service.BadArgs("rx_id %v, tx_id %v and func_id %v must differ", a.RxID, a.TxID, a.FuncID)
	}
	var pad isotp.Padding
	switch {
	case a.Padding != nil && !*a.Padding && a.PadByte != nil:
		return cfg, service.BadArgs("pad_byte with padding false")
	case a.Padding != nil && !*a.Padding:
		pad = isotp.NoPadding
	case a.PadByte != nil:
		pad = isotp.PadWith(*a.PadByte)
	}
	s.tp = isotp.Config{
		TxID: uint32(a.TxID), RxID: uint32(a.RxID), Extended: a.Extended,
		FunctionalID: uint32(a.FuncID), AcceptFunctional: true,
		FD: a.FD, Padding: pad,
	}
	flags := uint32(can.RTRFlag | can.EFFFlag)
	for _, id := range []hexid.ID{a.RxID, a.FuncID} {
		f := can.Filter{ID: uint32(id), Mask: uint32(idMask) | flags}
		if a.Extended {
			f.ID |= can.EFFFlag
		}
		s.filters = append(s.filters, f)
	}

	vin, err := doip.ParseVIN(a.VIN)
	if err != nil {
		return cfg, service.BadArgs("vin: %v", err)
	}
	if a.LogicalAddress == a.FunctionalAddress {
		return cfg, service.BadArgs("logical_address and functional_address are both %v", a.LogicalAddress)
	}
	if a.DoIPListen != "" {
		if _, _, err := net.SplitHostPort(a.DoIPListen); err != nil {
			return cfg, service.BadArgs("doip_listen: %v", err)
		}
		s.doipCfg = &doip.ServerConfig{
			Addr:                a.DoIPListen,
			LogicalAddress:      uint16(a.LogicalAddress),
			FunctionalAddresses: []uint16{uint16(a.FunctionalAddress)},
			VIN:                 vin,
			// One ECU with DoIP of its own, no gateway to others
			// (ISO 13400-2 entity status response: node type 0x01).
			NodeType: doip.NodeNode,
		}
	}

	cfg.p2 = time.Duration(a.P2Ms) * time.Millisecond
	cfg.p2Star = time.Duration(a.P2StarMs) * time.Millisecond
	cfg.s3 = time.Duration(a.S3Ms) * time.Millisecond

	cfg.dids = make(map[uint16][]byte, len(a.DIDs)+1)
	for did, v := range a.DIDs {
		if did > 0xFFFF {
			return cfg, service.BadArgs("dids: %v: a data identifier has 4 hex digits at most", did)
		}
		data, err := parseHex(v)
		if err == nil && len(data) == 0 {
			err = errors.New("empty value")
		}
		if err != nil {
			return cfg, service.BadArgs("dids: %v: %v", did, err)
		}
		cfg.dids[uint16(did)] = data
	}
	if _, ok := cfg.dids[DIDVIN]; !ok {
		cfg.dids[DIDVIN] = vin[:]
	}
	cfg.writeSecurity = a.WriteSecurity

	if a.SecurityLevel%2 == 0 || a.SecurityLevel > 0x7D || a.SecurityLevel >= 0x43 && a.SecurityLevel <= 0x5E {
		return cfg, service.BadArgs("security_level 0x%02X: want an odd level from 0x01 to 0x41, 0x5F or 0x61 to 0x7D (0x43–0x5E are reserved: ISO 14229-1 Table 42)", a.SecurityLevel)
	}
	cfg.level = a.SecurityLevel
	if cfg.keyXOR, err = parseHex(a.KeyXOR); err != nil || len(cfg.keyXOR) == 0 {
		return cfg, service.BadArgs("key_xor %q: want 1 or more bytes in hex", a.KeyXOR)
	}
	if a.Seed != "" {
		if cfg.seed, err = parseHex(a.Seed); err != nil {
			return cfg, service.BadArgs("seed: %v", err)
		}
		if len(cfg.seed) != len(cfg.keyXOR) {
			return cfg, service.BadArgs("seed has %d bytes, key_xor %d: they must match", len(cfg.seed), len(cfg.keyXOR))
		}
		if allZero(cfg.seed) {
			return cfg, service.BadArgs("seed is all zeros, which means already unlocked")
		}
	}
	cfg.maxAttempts = a.SecurityAttempts
	cfg.delay = time.Duration(a.SecurityDelayMs) * time.Millisecond
	return cfg, nil
}

// Initialize opens the CAN bus, starts answering on it and, with
// doip_listen, starts the DoIP entity.
func (s *ECUSimService) Initialize(ctx context.Context) (err error) {
	b, ok := service.BusFrom(ctx)
	if !ok {
		return errors.New("initialize: no bus in context")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if err != nil {
			s.stopLocked()
			err = fmt.Errorf("%s: %w", Kind, err)
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
		return fmt.Errorf("open %s: %w", s.args.Bus, err)
	}
	s.bus = cb
	conn, err := isotp.New(cb, s.tp)
	if err != nil {
		return fmt.Errorf("isotp: %w", err)
	}
	s.conn = conn
	s.wg.Go(func() { s.serveISOTP(runCtx, conn) })

	if s.doipCfg != nil {
		cfg := *s.doipCfg
		cfg.Logger = s.log
		cfg.Handler = func(ctx context.Context, _, ta uint16, data []byte) ([]byte, bool) {
			return s.ecu.handle(ctx, data, ta == uint16(s.args.FunctionalAddress))
		}
		srv, err := doip.Listen(cfg)
		if err != nil {
			return err // "doip: listen ...: ..."
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
		"bus", s.args.Bus, "rx_id", s.args.RxID, "tx_id", s.args.TxID, "func_id", s.args.FuncID,
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
			// A failed reception — a frame out of sequence, N_Cr, the flow
			// control that could not be sent — says it lost one message.
			if ctx.Err() != nil || !uds.MessageLost(err) {
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

// Shutdown stops answering, closes the bus and the DoIP entity, and
// returns after its goroutines have exited. It is idempotent.
func (s *ECUSimService) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	running := s.cancel != nil
	s.stopLocked()
	if !running {
		return nil // never started, or stopped already
	}
	st := s.ecu.stats()
	s.log.Info(LogStopped, "requests", st.Requests, "positive", st.Positive, "negative", st.Negative,
		"no_response", st.NoResponse, "session_changes", st.SessionChanges, "resets", st.Resets,
		"s3_expiries", st.S3Expiries, "rx_errors", st.RxErrors, "tx_errors", st.TxErrors)
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
	Session          uint8  `json:"session" doc:"Active diagnostic session: 1 default, 2 programming, 3 extended."`
	Name             string `json:"session_name" doc:"Name of the session, e.g. extendedDiagnosticSession."`
	S3Expiries       uint64 `json:"s3_expiries" doc:"Times the S3 timeout ended a non-default session."`
	SecurityUnlocked bool   `json:"security_unlocked" doc:"Whether security access is unlocked."`
}

// Stats are the counters of the stats method.
type Stats struct {
	Requests   uint64 `json:"requests" doc:"UDS requests received."`
	Positive   uint64 `json:"positive" doc:"Positive responses sent."`
	Negative   uint64 `json:"negative" doc:"Negative responses sent."`
	NoResponse uint64 `json:"no_response" doc:"Requests left unanswered: suppressed positive responses, and the negative ones a functional request leaves out."` // suppressed responses
	// BySID counts requests by service identifier in hex ("22"), ByNRC
	// negative responses by code ("31"), suppressed ones of functional
	// requests included.
	BySID            map[string]uint64 `json:"by_sid" doc:"Requests by service identifier in hex, e.g. 22."`
	ByNRC            map[string]uint64 `json:"by_nrc" doc:"Negative responses by code in hex, e.g. 31 (suppressed ones included)."`
	SessionChanges   uint64            `json:"session_changes" doc:"Changes of the diagnostic session."`
	Resets           uint64            `json:"resets" doc:"ECU resets (service 11)."`
	S3Expiries       uint64            `json:"s3_expiries" doc:"Times the S3 timeout ended a non-default session."`
	RxErrors         uint64            `json:"rx_errors" doc:"Failed ISO-TP receptions."` // failed ISO-TP receptions
	TxErrors         uint64            `json:"tx_errors" doc:"Failed ISO-TP sends."`      // failed ISO-TP sends
	Session          uint8             `json:"session" doc:"Active diagnostic session: 1 default, 2 programming, 3 extended."`
	SecurityUnlocked bool              `json:"security_unlocked" doc:"Whether security access is unlocked."`
	DIDs             int               `json:"dids" doc:"Number of data identifiers the ECU answers."`
	DoIPAddress      string            `json:"doip_address,omitempty" doc:"TCP address of the DoIP entity, host:port; absent without DoIP."`
}

// DIDValue is a data identifier and its value in hex: {"did": "0xF190",
// "data": "0102"}. did takes a number, "0xF190" or "F190".
type DIDValue struct {
	DID  hexid.ID `json:"did" doc:"Data identifier, a number or hex string such as F190." example:"0xF190"`
	Data string   `json:"data" doc:"Value in hex, two digits per byte (spaces ignored on input)." example:"0102"`
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

// SetDID sets the value of a data identifier, adding it if new:
// {"did": "F190", "data": "0102 03"} (data in hex, spaces ignored).
func (s *ECUSimService) SetDID(ctx context.Context, v DIDValue) error {
	did, err := checkDID(v.DID)
	if err != nil {
		return err
	}
	data, err := parseHex(v.Data)
	if err == nil && len(data) == 0 {
		err = errors.New("empty value")
	}
	if err != nil {
		return service.BadRequest(fmt.Errorf("set_did: data: %w", err))
	}
	s.ecu.setDID(did, data)
	return nil
}

// GetDID returns the value of a data identifier, given as a number, "0xF190"
// or "F190": get_did "F190" → {"did": "0xF190", "data": "4247…"}.
func (s *ECUSimService) GetDID(ctx context.Context, did hexid.ID) (DIDValue, error) {
	d, err := checkDID(did)
	if err != nil {
		return DIDValue{}, err
	}
	v, ok := s.ecu.getDID(d)
	if !ok {
		return DIDValue{}, service.Errorf(service.CodeBadRequest, "get_did: unknown data identifier %v", did)
	}
	return DIDValue{DID: did, Data: fmt.Sprintf("%X", v)}, nil
}

// checkDID refuses identifiers above 0xFFFF.
func checkDID(did hexid.ID) (uint16, error) {
	if did > 0xFFFF {
		return 0, service.Errorf(service.CodeBadRequest, "did %v: a data identifier has 4 hex digits at most", did)
	}
	return uint16(did), nil
}

// DoIPAddress returns the TCP address the DoIP entity listens on
// ("host:port", the port chosen when doip_listen asked for port 0), or ""
// without DoIP. Its endpoint is doip_address (see EndpointNames).
func (s *ECUSimService) DoIPAddress(ctx context.Context) (string, error) {
	return s.doipAddress(), nil
}

// EndpointNames names the endpoints whose Go names the snake_case rule
// spells otherwise: DoIPAddress is doip_address, not do_ip_address.
func (s *ECUSimService) EndpointNames() map[string]string {
	return map[string]string{"DoIPAddress": "doip_address"}
}

func (s *ECUSimService) doipAddress() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doipAddr
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

func bitsOf(extended bool) int {
	if extended {
		return 29
	}
	return 11
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}
