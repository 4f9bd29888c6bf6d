package uds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// HandlerFunc handles one request for a Server. req is the whole request,
// service identifier first, and the handler must not keep it.
//
// The handler returns the whole positive response (service identifier plus
// 0x40 first), or an error: an NRC, or an error wrapping one such as a
// *NegativeResponseError, becomes the negative response 7F <sid> <nrc>; a
// codec error from decoding req becomes incorrectMessageLengthOrInvalidFormat
// (ErrTruncated, ErrTrailingData), requestOutOfRange (ErrInvalidValue) or
// subFunctionNotSupported / serviceNotSupported (ErrUnsupported); any other
// error becomes generalReject, as does a panic (logged with its stack on
// slog.Default; the server goes on serving). A nil response with a nil
// error sends nothing, which lets a simulated ECU stay silent.
//
// A handler that needs longer than P2 calls ResponsePending first.
type HandlerFunc func(ctx context.Context, req []byte) ([]byte, error)

// Server dispatches UDS requests to handlers, for a simulated ECU. It
// answers with the negative responses ISO 14229-1 prescribes before a
// handler runs:
//
//   - an empty request: 7F 00 13 (incorrectMessageLengthOrInvalidFormat);
//   - a service without handler: serviceNotSupported (0x11);
//   - a service with sub-functions and no sub-function byte:
//     incorrectMessageLengthOrInvalidFormat (0x13);
//   - a sub-function without handler: subFunctionNotSupported (0x12).
//
// For a request with the suppressPosRspMsgIndicationBit set it drops the
// handler's positive response, unless the handler sent a response pending
// first, in which case ISO 14229-1 requires the final response. Negative
// responses are always returned: the server does not know how a request
// was addressed. Its transport does, and drops the responses to
// functional requests that FunctionalSuppressed names.
//
// A new Server answers TesterPresent (3E 00 / 3E 80). A Server is safe for
// concurrent use; handlers may be added while it serves.
type Server struct {
	mu       sync.RWMutex
	services map[SID]*service
	check    func(SID) NRC
}

// service holds the handlers of one service: one for each sub-function and
// one for the rest.
type service struct {
	handler HandlerFunc
	subs    map[byte]HandlerFunc
}

// NewServer returns a server that handles TesterPresent.
func NewServer() *Server {
	s := &Server{services: make(map[SID]*service)}
	s.HandleSubFunction(SIDTesterPresent, 0x00, handleTesterPresent)
	return s
}

func handleTesterPresent(_ context.Context, req []byte) ([]byte, error) {
	var r TesterPresentRequest
	if err := r.UnmarshalBinary(req); err != nil {
		return nil, err
	}
	return TesterPresentResponse{}.MarshalBinary()
}

// Handle registers h for the requests of service sid that no sub-function
// handler takes. A nil h removes every handler of sid, so that it answers
// serviceNotSupported.
func (s *Server) Handle(sid SID, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.services, sid)
		return
	}
	s.service(sid).handler = h
}

// SetServiceCheck has check decide, for a request of a supported service,
// before its length and sub-function are looked at, whether the service
// may run now: the checks ISO 14229-1 (7.5, Figure 5) makes of every
// request after "SID supported", in this order — the service supported in
// the active session (serviceNotSupportedInActiveSession, 0x7F), then its
// security (securityAccessDenied, 0x33). A check returns 0 to let the
// request on. So `27` alone in a session without SecurityAccess is 0x7F,
// not the minimum-length 0x13 of Figure 6. A nil check removes it.
func (s *Server) SetServiceCheck(check func(sid SID) NRC) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.check = check
}

// HandleSubFunction registers h for the requests of service sid with
// sub-function sub (bit 7, the suppressPosRspMsgIndicationBit, excluded).
// A nil h removes the handler. It panics if sid has no sub-function or sub
// has bit 7 set.
func (s *Server) HandleSubFunction(sid SID, sub byte, h HandlerFunc) {
	if !sid.HasSubFunction() {
		panic(fmt.Sprintf("uds: HandleSubFunction: %s has no sub-function", sid))
	}
	if sub&suppressBit != 0 {
		panic(fmt.Sprintf("uds: HandleSubFunction: sub-function 0x%02X has bit 7 set", sub))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.service(sid)
	if h == nil {
		delete(svc.subs, sub)
		if len(svc.subs) == 0 && svc.handler == nil {
			delete(s.services, sid)
		}
		return
	}
	svc.subs[sub] = h
}

// service returns the entry of sid, creating it; s.mu must be held.
func (s *Server) service(sid SID) *service {
	svc := s.services[sid]
	if svc == nil {
		svc = &service{subs: make(map[byte]HandlerFunc)}
		s.services[sid] = svc
	}
	return svc
}

// lookup returns the handler for req, or the NRC refusing it.
func (s *Server) lookup(req []byte) (HandlerFunc, NRC) {
	sid := SID(req[0])
	s.mu.RLock()
	svc, check := s.services[sid], s.check
	s.mu.RUnlock()
	if svc == nil {
		return nil, NRCServiceNotSupported
	}
	if check != nil {
		if nrc := check(sid); nrc != 0 {
			return nil, nrc
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case !sid.HasSubFunction():
		return svc.handler, 0
	case len(req) < 2:
		return nil, NRCIncorrectMessageLengthOrInvalidFormat
	}
	if h := svc.subs[req[1]&^suppressBit]; h != nil {
		return h, 0
	}
	if svc.handler != nil {
		return svc.handler, 0
	}
	return nil, NRCSubFunctionNotSupported
}

// ServeMessage handles one request and returns the response to send; ok is
// false when no response is to be sent. Handlers called by ServeMessage
// cannot send a response pending: ResponsePending returns
// ErrPendingUnsupported. Use Serve for that.
func (s *Server) ServeMessage(ctx context.Context, req []byte) (resp []byte, ok bool) {
	return s.serveMessage(ctx, req, nil)
}

func (s *Server) serveMessage(ctx context.Context, req []byte, send func(context.Context, []byte) error) ([]byte, bool) {
	if len(req) == 0 {
		return negativeResponse(0, NRCIncorrectMessageLengthOrInvalidFormat), true
	}
	sid := SID(req[0])
	h, nrc := s.lookup(req)
	if h == nil {
		return negativeResponse(sid, nrc), true
	}
	p := &pending{sid: sid, send: send}
	resp, err := call(context.WithValue(ctx, pendingKey{}, p), h, req)
	switch {
	case err != nil:
		return negativeResponse(sid, handlerNRC(sid, err)), true
	case len(resp) == 0:
		return nil, false
	case resp[0] == sid.Response() && SuppressesPositiveResponse(req) && !p.sent.Load():
		return nil, false
	}
	return resp, true
}

// call runs h; a panic in it is logged (slog.Default, with the stack) and
// answered generalReject, as an ECU answers an internal failure.
func call(ctx context.Context, h HandlerFunc, req []byte) (resp []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			slog.Default().Error("uds: handler panicked", "sid", fmt.Sprintf("%#02x", req[0]),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp, err = nil, NRCGeneralReject
		}
	}()
	return h(ctx, req)
}

// Serve reads requests from t, handles them one at a time and writes the
// responses to t. It returns ctx.Err() when ctx ends, or the transport's
// error. An error that loses one message only — a garbled request or a
// response the tester refused, reported by an error with a MessageLost
// method returning true, as isotp's are — is skipped: one bad frame from
// a tester does not stop the ECU.
func (s *Server) Serve(ctx context.Context, t Transport) error {
	for {
		req, err := t.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if MessageLost(err) {
				continue // one request was garbled; the transport goes on
			}
			return fmt.Errorf("uds serve: receive: %w", err)
		}
		resp, ok := s.serveMessage(ctx, req, t.Send)
		if !ok {
			continue
		}
		if err := t.Send(ctx, resp); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if MessageLost(err) {
				continue // the tester refused this response; serve the next request
			}
			return fmt.Errorf("uds serve: send: %w", err)
		}
	}
}

// MessageLost reports whether err lost one message and left the
// transport working (see Transport): Serve goes on after it, as an ECU
// loop of one's own should.
func MessageLost(err error) bool {
	var lost interface{ MessageLost() bool }
	return errors.As(err, &lost) && lost.MessageLost()
}

// FunctionalSuppressed reports whether resp, the response to a
// functionally addressed request, is one that ISO 14229-1 (7.5, Tables 5
// and 6) leaves unsent: a negative response with serviceNotSupported,
// subFunctionNotSupported, requestOutOfRange,
// subFunctionNotSupportedInActiveSession or
// serviceNotSupportedInActiveSession, whatever the
// suppressPosRspMsgIndicationBit. (Positive responses with the bit set are
// dropped already by Server for both addressings.)
func FunctionalSuppressed(resp []byte) bool {
	if len(resp) != 3 || resp[0] != NegativeResponseSID {
		return false
	}
	switch NRC(resp[2]) {
	case NRCServiceNotSupported, NRCSubFunctionNotSupported, NRCRequestOutOfRange,
		NRCSubFunctionNotSupportedInActiveSession, NRCServiceNotSupportedInActiveSession:
		return true
	}
	return false
}

func negativeResponse(sid SID, nrc NRC) []byte {
	return []byte{NegativeResponseSID, byte(sid), byte(nrc)}
}

// handlerNRC maps a handler's error to the NRC to send; see HandlerFunc.
func handlerNRC(sid SID, err error) NRC {
	var nrc NRC
	switch {
	case errors.As(err, &nrc):
		return nrc
	case errors.Is(err, ErrTruncated), errors.Is(err, ErrTrailingData):
		return NRCIncorrectMessageLengthOrInvalidFormat
	case errors.Is(err, ErrInvalidValue):
		return NRCRequestOutOfRange
	case errors.Is(err, ErrUnsupported) && sid.HasSubFunction():
		return NRCSubFunctionNotSupported
	case errors.Is(err, ErrUnsupported):
		return NRCServiceNotSupported
	}
	return NRCGeneralReject
}

type pendingKey struct{}

// pending lets a handler send response pending messages.
type pending struct {
	sid  SID
	send func(context.Context, []byte) error
	sent atomic.Bool
}

// ResponsePending sends a response pending (7F <sid> 78) for the request
// being handled with ctx, telling the client to wait up to P2* for the
// final response. A handler calls it before P2 runs out and again before
// each P2* runs out; the final response is then sent even if the request
// suppressed the positive response. It must be called with the handler's
// context, before the handler returns, and returns ErrPendingUnsupported
// outside Server.Serve.
func ResponsePending(ctx context.Context) error {
	p, _ := ctx.Value(pendingKey{}).(*pending)
	if p == nil || p.send == nil {
		return ErrPendingUnsupported
	}
	if err := p.send(ctx, negativeResponse(p.sid, NRCRequestCorrectlyReceivedResponsePending)); err != nil {
		return fmt.Errorf("uds %s: send response pending: %w", p.sid, err)
	}
	p.sent.Store(true)
	return nil
}
