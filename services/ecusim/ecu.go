package ecusim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bgkit/bgkit/uds"
)

// Messages of the records an ECU simulator logs at INFO, for tests and
// tools that wait for them.
const (
	LogSessionChange = "diagnostic session changed"
	LogS3Expiry      = "S3 timeout: back to the default session"
	LogReset         = "ECU reset"
	LogUnlocked      = "security access granted"
	LogLockout       = "security access locked out"
	LogStopped       = "ECU simulator stopped"
)

// Topics of the events an ECU simulator emits (service.Emit, on
// evt.<NAME>.<topic>).
const (
	// TopicSessionChanged carries a SessionChange.
	TopicSessionChanged = "session_changed"
	// TopicSecurityUnlocked carries a SecurityUnlock.
	TopicSecurityUnlocked = "security_unlocked"
)

// Causes of a SessionChange.
const (
	CauseRequest = "request" // DiagnosticSessionControl
	CauseS3      = "s3"      // the S3 server timer ran out
	CauseReset   = "reset"   // ECUReset
)

// SessionChange is the event of a change of the active diagnostic
// session: {"from": 3, "to": 1, "cause": "s3"}. Sessions are the
// DiagnosticSessionControl sub-functions (1 default, 2 programming, 3
// extended).
type SessionChange struct {
	From  uint8  `json:"from"`
	To    uint8  `json:"to"`
	Cause string `json:"cause"`
}

// SecurityUnlock is the event of a granted SecurityAccess: {"level": 1},
// the requestSeed level.
type SecurityUnlock struct {
	Level uint8 `json:"level"`
}

// maxResponse is the longest response sent: the classic ISO-TP limit.
const maxResponse = 4095

// ecuConfig is what an ecu does, from Args with the defaults applied.
type ecuConfig struct {
	p2, p2Star, s3 time.Duration
	level          byte   // requestSeed level (odd); sendKey is level+1
	seed           []byte // fixed seed; nil for a random one per request
	keyXOR         []byte // key = seed XOR keyXOR
	maxAttempts    int
	delay          time.Duration
	writeSecurity  bool
	dids           map[uint16][]byte
}

// ecu is the diagnostic state machine of the simulator: sessions with the
// S3 timer, security access, data identifiers and counters, all behind one
// mutex. It does not know its transports: handle takes a request and
// returns the response to send.
type ecu struct {
	cfg  ecuConfig
	log  *slog.Logger
	srv  *uds.Server
	emit func(topic string, v any) // nil: no events; set before serving

	mu         sync.Mutex
	session    uds.SessionType
	unlocked   bool
	seed       []byte    // seed sent and waiting for its key; nil when none
	attempts   int       // invalid keys since the last seed lockout or unlock
	delayUntil time.Time // requiredTimeDelay after too many invalid keys
	dids       map[uint16][]byte
	s3         *time.Timer
	s3Gen      uint64 // identifies the armed S3 timer; bumped to disarm it
	closed     bool

	requests, positive, negative, silent uint64
	bySID, byNRC                         [256]uint64
	sessionChanges, resets, s3Expiries   uint64
	rxErrors, txErrors                   uint64
}

func newECU(cfg ecuConfig, log *slog.Logger) *ecu {
	e := &ecu{
		cfg:     cfg,
		log:     log,
		session: uds.DefaultSession,
		dids:    make(map[uint16][]byte, len(cfg.dids)),
	}
	for did, v := range cfg.dids {
		e.dids[did] = append([]byte(nil), v...)
	}
	s := uds.NewServer() // answers TesterPresent 3E 00 / 3E 80
	for _, st := range []uds.SessionType{uds.DefaultSession, uds.ProgrammingSession, uds.ExtendedDiagnosticSession} {
		s.HandleSubFunction(uds.SIDDiagnosticSessionControl, byte(st), e.sessionControl)
	}
	for _, rt := range []uds.ResetType{uds.HardReset, uds.KeyOffOnReset, uds.SoftReset} {
		s.HandleSubFunction(uds.SIDECUReset, byte(rt), e.ecuReset)
	}
	s.Handle(uds.SIDSecurityAccess, e.securityAccess)
	s.Handle(uds.SIDReadDataByIdentifier, e.readData)
	s.Handle(uds.SIDWriteDataByIdentifier, e.writeData)
	s.SetServiceCheck(e.serviceInSession)
	e.srv = s
	return e
}

// serviceInSession is the check of ISO 14229-1 Figure 5 that comes before
// a request's length: SecurityAccess outside the default session only,
// WriteDataByIdentifier in the extended session only
// (serviceNotSupportedInActiveSession). The handlers check again, under
// the lock they act under: the S3 timer may end the session in between.
func (e *ecu) serviceInSession(sid uds.SID) uds.NRC {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case sid == uds.SIDSecurityAccess && e.session == uds.DefaultSession,
		sid == uds.SIDWriteDataByIdentifier && e.session != uds.ExtendedDiagnosticSession:
		return uds.NRCServiceNotSupportedInActiveSession
	}
	return 0
}

// handle answers one request, received on either transport. ok is false
// when no response is to be sent: a suppressed positive response, or, for
// a functional request (func_id over CAN, functional_address over DoIP),
// the negative responses ISO 14229-1 leaves out (uds.FunctionalSuppressed:
// 0x11, 0x12, 0x31, 0x7E, 0x7F).
//
// Every request restarts the S3 timer of a non-default session: the timer
// is stopped while the request is handled and armed again afterwards.
func (e *ecu) handle(ctx context.Context, req []byte, functional bool) (resp []byte, ok bool) {
	e.mu.Lock()
	e.requests++
	if len(req) > 0 {
		e.bySID[req[0]]++
	}
	e.disarmS3()
	e.mu.Unlock()

	resp, ok = e.srv.ServeMessage(ctx, req)
	if ok && functional && uds.FunctionalSuppressed(resp) {
		e.mu.Lock()
		e.byNRC[resp[2]]++
		resp, ok = nil, false
		e.mu.Unlock()
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !ok:
		e.silent++
	case resp[0] == uds.NegativeResponseSID && len(resp) >= 3:
		e.negative++
		e.byNRC[resp[2]]++
	default:
		e.positive++
	}
	if e.session != uds.DefaultSession {
		e.armS3()
	}
	return resp, ok
}

// disarmS3 stops the S3 timer; a callback already on its way finds its
// generation outdated. e.mu must be held.
func (e *ecu) disarmS3() {
	e.s3Gen++
	if e.s3 != nil {
		e.s3.Stop()
		e.s3 = nil
	}
}

// armS3 (re)starts the S3 timer. e.mu must be held.
func (e *ecu) armS3() {
	e.disarmS3()
	if e.closed {
		return
	}
	gen := e.s3Gen
	e.s3 = time.AfterFunc(e.cfg.s3, func() { e.s3Expired(gen) })
}

// s3Expired drops a non-default session whose S3 timer gen ran out.
func (e *ecu) s3Expired(gen uint64) {
	e.mu.Lock()
	if gen != e.s3Gen || e.closed || e.session == uds.DefaultSession {
		e.mu.Unlock()
		return
	}
	from := e.session
	e.s3 = nil
	e.session = uds.DefaultSession
	e.lockSecurity()
	e.s3Expiries++
	n := e.s3Expiries
	e.mu.Unlock()
	e.log.Info(LogS3Expiry, "from", from.String(), "s3", e.cfg.s3, "s3_expiries", n)
	e.event(TopicSessionChanged, SessionChange{From: uint8(from), To: uint8(uds.DefaultSession), Cause: CauseS3})
}

// event emits an event when the ecu has an emitter.
func (e *ecu) event(topic string, v any) {
	if e.emit != nil {
		e.emit(topic, v)
	}
}

// lockSecurity locks security access and forgets a seed sent. The delay
// after too many invalid keys goes on. e.mu must be held.
func (e *ecu) lockSecurity() {
	e.unlocked = false
	e.seed = nil
}

// close stops the S3 timer for good.
func (e *ecu) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.disarmS3()
}

// sessionControl handles DiagnosticSessionControl 10 01/02/03 (other
// sessions are refused with subFunctionNotSupported by the dispatcher).
// Any session change, also to the session already active, locks security
// access as ISO 14229-1 requires.
func (e *ecu) sessionControl(_ context.Context, req []byte) ([]byte, error) {
	var r uds.DiagnosticSessionControlRequest
	if err := r.UnmarshalBinary(req); err != nil {
		return nil, err
	}
	resp, err := uds.DiagnosticSessionControlResponse{Session: r.Session, P2: e.cfg.p2, P2Star: e.cfg.p2Star}.MarshalBinary()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	from := e.session
	e.session = r.Session
	e.lockSecurity()
	if from != r.Session {
		e.sessionChanges++
	}
	e.mu.Unlock()
	if from != r.Session {
		e.log.Info(LogSessionChange, "from", from.String(), "to", r.Session.String())
		e.event(TopicSessionChanged, SessionChange{From: uint8(from), To: uint8(r.Session), Cause: CauseRequest})
	}
	return resp, nil
}

// ecuReset handles ECUReset 11 01/02/03: the positive response, then the
// state of a restarted ECU (default session, security locked). Written
// data identifiers keep their values, like non-volatile memory.
func (e *ecu) ecuReset(_ context.Context, req []byte) ([]byte, error) {
	var r uds.ECUResetRequest
	if err := r.UnmarshalBinary(req); err != nil {
		return nil, err
	}
	resp, err := uds.ECUResetResponse{Type: r.Type}.MarshalBinary()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	from := e.session
	e.session = uds.DefaultSession
	e.lockSecurity()
	e.resets++
	n := e.resets
	e.mu.Unlock()
	e.log.Info(LogReset, "type", r.Type.String(), "from", from.String(), "resets", n)
	if from != uds.DefaultSession {
		e.event(TopicSessionChanged, SessionChange{From: uint8(from), To: uint8(uds.DefaultSession), Cause: CauseReset})
	}
	return resp, nil
}

// readData handles ReadDataByIdentifier 22 <DID>...: the records of the
// known DIDs in the order asked; requestOutOfRange when none is known.
func (e *ecu) readData(_ context.Context, req []byte) ([]byte, error) {
	if len(req) < 3 || (len(req)-1)%2 != 0 {
		return nil, uds.NRCIncorrectMessageLengthOrInvalidFormat
	}
	var r uds.ReadDataByIdentifierRequest
	if err := r.UnmarshalBinary(req); err != nil {
		return nil, err
	}
	e.mu.Lock()
	var recs []uds.DataRecord
	for _, did := range r.DIDs {
		if v, ok := e.dids[did]; ok {
			recs = append(recs, uds.DataRecord{DID: did, Data: v})
		} else if did == DIDActiveSession {
			recs = append(recs, uds.DataRecord{DID: did, Data: []byte{byte(e.session)}})
		}
	}
	// Encode under the lock: the records share the stored values.
	var resp []byte
	var err error
	if len(recs) > 0 {
		resp, err = uds.ReadDataByIdentifierResponse{Records: recs}.MarshalBinary()
	}
	e.mu.Unlock()
	switch {
	case len(recs) == 0:
		return nil, uds.NRCRequestOutOfRange
	case err != nil:
		return nil, err
	case len(resp) > maxResponse:
		return nil, uds.NRCResponseTooLong
	}
	return resp, nil
}

// writeData handles WriteDataByIdentifier 2E <DID> <data>. The checks come
// in the order of ISO 14229-1: the service in the active session (only the
// extended session writes: serviceNotSupportedInActiveSession), the
// minimum length, the DID (requestOutOfRange), security when writes need
// it (securityAccessDenied), then the length of the value, which must be
// the stored one (incorrectMessageLengthOrInvalidFormat).
func (e *ecu) writeData(_ context.Context, req []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session != uds.ExtendedDiagnosticSession {
		return nil, uds.NRCServiceNotSupportedInActiveSession
	}
	if len(req) < 4 {
		return nil, uds.NRCIncorrectMessageLengthOrInvalidFormat
	}
	var r uds.WriteDataByIdentifierRequest
	if err := r.UnmarshalBinary(req); err != nil {
		return nil, err
	}
	cur, ok := e.dids[r.DID]
	switch {
	case !ok:
		return nil, uds.NRCRequestOutOfRange
	case e.cfg.writeSecurity && !e.unlocked:
		return nil, uds.NRCSecurityAccessDenied
	case len(r.Data) != len(cur):
		return nil, uds.NRCIncorrectMessageLengthOrInvalidFormat
	}
	e.dids[r.DID] = append([]byte(nil), r.Data...)
	return uds.WriteDataByIdentifierResponse{DID: r.DID}.MarshalBinary()
}

// setDID stores a value, adding the DID if it is new.
func (e *ecu) setDID(did uint16, v []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dids[did] = append([]byte(nil), v...)
}

// getDID returns a copy of a value.
func (e *ecu) getDID(did uint16) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.dids[did]
	return append([]byte(nil), v...), ok
}

// countTransportError counts a failed reception (rx) or send.
func (e *ecu) countTransportError(rx bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rx {
		e.rxErrors++
	} else {
		e.txErrors++
	}
}

// sessionInfo returns the state that the session method reports.
func (e *ecu) sessionInfo() SessionInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return SessionInfo{
		Session:          uint8(e.session),
		Name:             e.session.String(),
		S3Expiries:       e.s3Expiries,
		SecurityUnlocked: e.unlocked,
	}
}

// stats returns the counters.
func (e *ecu) stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := Stats{
		Requests:         e.requests,
		Positive:         e.positive,
		Negative:         e.negative,
		NoResponse:       e.silent,
		BySID:            counts(&e.bySID),
		ByNRC:            counts(&e.byNRC),
		SessionChanges:   e.sessionChanges,
		Resets:           e.resets,
		S3Expiries:       e.s3Expiries,
		RxErrors:         e.rxErrors,
		TxErrors:         e.txErrors,
		Session:          uint8(e.session),
		SecurityUnlocked: e.unlocked,
		DIDs:             len(e.dids),
	}
	return st
}

// counts turns the non-zero counters into a map keyed by the byte in hex.
func counts(c *[256]uint64) map[string]uint64 {
	m := make(map[string]uint64)
	for i, n := range c {
		if n > 0 {
			m[fmt.Sprintf("%02X", i)] = n
		}
	}
	return m
}
