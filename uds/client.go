package uds

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Default timing of a Client (ISO 14229-2 defaults for the default session).
const (
	DefaultP2     = 50 * time.Millisecond
	DefaultP2Star = 5000 * time.Millisecond
)

// Client sends UDS requests to one server over a Transport and waits for
// their responses. It is safe for concurrent use: requests are sent one at
// a time, each waiting for its response before the next is sent.
type Client struct {
	t   Transport
	sem chan struct{} // holds a token while a request is in flight

	mu     sync.Mutex // guards the fields below
	p2     time.Duration
	p2Star time.Duration
	adopt  bool
	margin time.Duration
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithP2 sets how long the client waits for the first response to a
// request (default DefaultP2). Non-positive values are ignored.
func WithP2(d time.Duration) ClientOption {
	return func(c *Client) {
		if d > 0 {
			c.p2 = d
		}
	}
}

// WithP2Star sets how long the client waits after each response pending
// (NRC 0x78) (default DefaultP2Star). Non-positive values are ignored.
func WithP2Star(d time.Duration) ClientOption {
	return func(c *Client) {
		if d > 0 {
			c.p2Star = d
		}
	}
}

// WithSessionTiming makes the client adopt the P2 and P2* that the server
// reports in its DiagnosticSessionControl response (to a request sent with
// Client.DiagnosticSessionControl), plus margin for the transport's delays.
func WithSessionTiming(margin time.Duration) ClientOption {
	return func(c *Client) {
		c.adopt = true
		c.margin = max(margin, 0)
	}
}

// NewClient returns a client that talks over t.
func NewClient(t Transport, opts ...ClientOption) *Client {
	c := &Client{t: t, sem: make(chan struct{}, 1), p2: DefaultP2, p2Star: DefaultP2Star}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Timing returns the P2 and P2* timeouts the client uses now.
func (c *Client) Timing() (p2, p2Star time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.p2, c.p2Star
}

// errDeadline reports that a wait for a response expired.
var errDeadline = errors.New("uds: response deadline")

// Do sends the encoded request req and returns the encoded positive
// response.
//
// It waits up to P2 for the response. Each response pending (NRC 0x78)
// extends the wait to P2* from its arrival. Messages that do not answer the
// request are discarded as stale: negative responses for another service,
// and positive responses for another service or whose echo of the
// sub-function, data identifier or routine identifier differs from the
// request's. A negative response returns a *NegativeResponseError; no
// response in time returns an error wrapping ErrTimeout.
//
// When req suppresses the positive response (bit 7 of its sub-function;
// see SuppressesPositiveResponse), Do waits P2 for a negative response and
// returns nil, nil if none came. After a response pending it waits for the
// final response as usual, since the server then sends it even if positive.
// Do does not know how the transport addresses the server, so it applies
// this rule for functional requests too, where ISO 14229-1 also lets the
// server omit some negative responses.
func (c *Client) Do(ctx context.Context, req []byte) ([]byte, error) {
	if len(req) == 0 {
		return nil, fmt.Errorf("uds request: %w", ErrTruncated)
	}
	sid := SID(req[0])
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("uds %s: %w", sid, ctx.Err())
	}
	defer func() { <-c.sem }()

	p2, p2Star := c.Timing()
	if err := c.t.Send(ctx, req); err != nil {
		return nil, fmt.Errorf("uds %s: send: %w", sid, err)
	}
	suppress := SuppressesPositiveResponse(req)
	pending := false
	timeout, timer := p2, "P2"
	deadline := time.Now().Add(p2)
	for {
		msg, err := c.recv(ctx, deadline)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, fmt.Errorf("uds %s: %w", sid, ctx.Err())
		case errors.Is(err, errDeadline):
			if suppress && !pending {
				return nil, nil
			}
			return nil, fmt.Errorf("uds %s: no response within %s (%v): %w", sid, timer, timeout, ErrTimeout)
		default:
			return nil, fmt.Errorf("uds %s: receive: %w", sid, err)
		}
		switch {
		case len(msg) >= 3 && msg[0] == NegativeResponseSID && SID(msg[1]) == sid:
			nrc := NRC(msg[2])
			if nrc != NRCRequestCorrectlyReceivedResponsePending {
				return nil, &NegativeResponseError{SID: sid, NRC: nrc}
			}
			pending = true
			timeout, timer = p2Star, "P2*"
			deadline = time.Now().Add(p2Star)
		case len(msg) >= 1 && msg[0] == sid.Response() && echoes(req, msg):
			return msg, nil
		}
		// Anything else is stale or garbage: keep waiting until the deadline.
	}
}

// recv receives one message, returning errDeadline if the deadline passes
// first.
func (c *Client) recv(ctx context.Context, deadline time.Time) ([]byte, error) {
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	msg, err := c.t.Recv(rctx)
	if err != nil && ctx.Err() == nil && rctx.Err() != nil {
		return nil, errDeadline
	}
	return msg, err
}

// echoes reports whether the positive response resp repeats the parameters
// of req that ISO 14229-1 has it echo. Bytes that resp lacks are not
// compared, leaving the decoder to report the truncation.
func echoes(req, resp []byte) bool {
	sid := SID(req[0])
	switch {
	case sid.HasSubFunction():
		if len(req) >= 2 && len(resp) >= 2 && req[1]&^suppressBit != resp[1]&^suppressBit {
			return false
		}
		if sid == SIDRoutineControl {
			return prefixEqual(tail(req, 2), tail(resp, 2), 2)
		}
	case sid == SIDReadDataByIdentifier, sid == SIDWriteDataByIdentifier:
		return prefixEqual(tail(req, 1), tail(resp, 1), 2)
	}
	return true
}

func tail(b []byte, i int) []byte {
	if len(b) < i {
		return nil
	}
	return b[i:]
}

// prefixEqual compares the first n bytes of a and b, or fewer if either is
// shorter.
func prefixEqual(a, b []byte, n int) bool {
	n = min(n, len(a), len(b))
	return string(a[:n]) == string(b[:n])
}

// Exchange encodes req, sends it with Do and decodes the positive response
// into resp. If req suppresses the positive response and none came, resp is
// left untouched; resp may be nil to discard the response.
func (c *Client) Exchange(ctx context.Context, req Message, resp encoding.BinaryUnmarshaler) error {
	msg, err := c.exchangeMsg(ctx, req)
	if err != nil || msg == nil || resp == nil {
		return err
	}
	return resp.UnmarshalBinary(msg)
}

// DiagnosticSessionControl switches the server to session and returns its
// response with the session's timing. With WithSessionTiming the client
// adopts that timing.
func (c *Client) DiagnosticSessionControl(ctx context.Context, session SessionType) (*DiagnosticSessionControlResponse, error) {
	var resp DiagnosticSessionControlResponse
	if err := c.Exchange(ctx, DiagnosticSessionControlRequest{Session: session}, &resp); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.adopt {
		if resp.P2 > 0 {
			c.p2 = resp.P2 + c.margin
		}
		if resp.P2Star > 0 {
			c.p2Star = resp.P2Star + c.margin
		}
	}
	c.mu.Unlock()
	return &resp, nil
}

// ECUReset asks the server to reset.
func (c *Client) ECUReset(ctx context.Context, t ResetType) (*ECUResetResponse, error) {
	var resp ECUResetResponse
	if err := c.Exchange(ctx, ECUResetRequest{Type: t}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ClearDiagnosticInformation clears the DTCs of group (GroupAllDTCs for
// all).
func (c *Client) ClearDiagnosticInformation(ctx context.Context, group DTC) error {
	return c.Exchange(ctx, ClearDiagnosticInformationRequest{Group: group}, &ClearDiagnosticInformationResponse{})
}

// ReadNumberOfDTCByStatusMask counts the DTCs whose status matches mask
// (ReadDTCInformation 0x01).
func (c *Client) ReadNumberOfDTCByStatusMask(ctx context.Context, mask DTCStatus) (*DTCCountResponse, error) {
	var resp DTCCountResponse
	req := ReadDTCInformationRequest{Report: ReportNumberOfDTCByStatusMask, StatusMask: mask}
	if err := c.Exchange(ctx, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ReadDTCByStatusMask lists the DTCs whose status matches mask
// (ReadDTCInformation 0x02).
func (c *Client) ReadDTCByStatusMask(ctx context.Context, mask DTCStatus) (*DTCListResponse, error) {
	var resp DTCListResponse
	req := ReadDTCInformationRequest{Report: ReportDTCByStatusMask, StatusMask: mask}
	if err := c.Exchange(ctx, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ReadSupportedDTC lists every DTC the server supports with its status
// (ReadDTCInformation 0x0A).
func (c *Client) ReadSupportedDTC(ctx context.Context) (*DTCListResponse, error) {
	var resp DTCListResponse
	if err := c.Exchange(ctx, ReadDTCInformationRequest{Report: ReportSupportedDTC}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ReadDataByIdentifier reads the value of one data identifier.
func (c *Client) ReadDataByIdentifier(ctx context.Context, did uint16) ([]byte, error) {
	var resp ReadDataByIdentifierResponse
	if err := c.Exchange(ctx, ReadDataByIdentifierRequest{DIDs: []uint16{did}}, &resp); err != nil {
		return nil, err
	}
	return resp.Records[0].Data, nil
}

// ReadDataByIdentifiers reads several data identifiers in one request,
// splitting the response with length. The records come in the order of
// dids; a response with other identifiers gives ErrInvalidValue.
func (c *Client) ReadDataByIdentifiers(ctx context.Context, length DataLengthFunc, dids ...uint16) ([]DataRecord, error) {
	req, err := ReadDataByIdentifierRequest{DIDs: dids}.MarshalBinary()
	if err != nil {
		return nil, err
	}
	msg, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	var resp ReadDataByIdentifierResponse
	if err := resp.UnmarshalWithLengths(msg, length); err != nil {
		return nil, err
	}
	if len(resp.Records) != len(dids) {
		return nil, fmt.Errorf("uds %s: %d records for %d identifiers: %w", SIDReadDataByIdentifier, len(resp.Records), len(dids), ErrInvalidValue)
	}
	for i, rec := range resp.Records {
		if rec.DID != dids[i] {
			return nil, fmt.Errorf("uds %s: record %d is 0x%04X, want 0x%04X: %w", SIDReadDataByIdentifier, i, rec.DID, dids[i], ErrInvalidValue)
		}
	}
	return resp.Records, nil
}

// WriteDataByIdentifier writes data to a data identifier.
func (c *Client) WriteDataByIdentifier(ctx context.Context, did uint16, data []byte) error {
	return c.Exchange(ctx, WriteDataByIdentifierRequest{DID: did, Data: data}, &WriteDataByIdentifierResponse{})
}

// SecurityAccess sends any SecurityAccess request. It returns a nil
// response if req suppresses the positive response and none came.
func (c *Client) SecurityAccess(ctx context.Context, req SecurityAccessRequest) (*SecurityAccessResponse, error) {
	msg, err := c.exchangeMsg(ctx, req)
	if err != nil || msg == nil {
		return nil, err
	}
	var resp SecurityAccessResponse
	if err := resp.UnmarshalBinary(msg); err != nil {
		return nil, err
	}
	return &resp, nil
}

// RequestSeed asks for the seed of the odd security level.
func (c *Client) RequestSeed(ctx context.Context, level byte) ([]byte, error) {
	if level%2 == 0 {
		return nil, fmt.Errorf("uds %s: request seed with even level 0x%02X: %w", SIDSecurityAccess, level, ErrInvalidValue)
	}
	resp, err := c.SecurityAccess(ctx, SecurityAccessRequest{Level: level})
	if err != nil {
		return nil, err
	}
	return resp.Seed, nil
}

// SendKey sends the key for the even security level (the seed's level
// plus one).
func (c *Client) SendKey(ctx context.Context, level byte, key []byte) error {
	if level%2 == 1 {
		return fmt.Errorf("uds %s: send key with odd level 0x%02X: %w", SIDSecurityAccess, level, ErrInvalidValue)
	}
	_, err := c.SecurityAccess(ctx, SecurityAccessRequest{Level: level, Data: key})
	return err
}

// Unlock requests the seed of the odd security level, computes the key
// with key and sends it. A seed of all zeros means the level is already
// unlocked: Unlock then returns nil without calling key.
func (c *Client) Unlock(ctx context.Context, level byte, key func(seed []byte) ([]byte, error)) error {
	seed, err := c.RequestSeed(ctx, level)
	if err != nil {
		return err
	}
	if allZero(seed) {
		return nil
	}
	k, err := key(seed)
	if err != nil {
		return fmt.Errorf("uds %s: compute key: %w", SIDSecurityAccess, err)
	}
	return c.SendKey(ctx, level+1, k)
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// TesterPresent keeps the server in its current session. With suppress,
// the server sends no positive response and TesterPresent returns after P2
// unless a negative response arrives.
func (c *Client) TesterPresent(ctx context.Context, suppress bool) error {
	return c.Exchange(ctx, TesterPresentRequest{SuppressPositiveResponse: suppress}, &TesterPresentResponse{})
}

// RoutineControl starts or stops a routine or requests its results. It
// returns a nil response if req suppresses the positive response and none
// came.
func (c *Client) RoutineControl(ctx context.Context, req RoutineControlRequest) (*RoutineControlResponse, error) {
	msg, err := c.exchangeMsg(ctx, req)
	if err != nil || msg == nil {
		return nil, err
	}
	var resp RoutineControlResponse
	if err := resp.UnmarshalBinary(msg); err != nil {
		return nil, err
	}
	return &resp, nil
}

// CommunicationControl switches the server's transmission or reception of
// messages on or off.
func (c *Client) CommunicationControl(ctx context.Context, req CommunicationControlRequest) error {
	return c.Exchange(ctx, req, &CommunicationControlResponse{})
}

// ControlDTCSetting stops or resumes the updating of DTC status bits.
func (c *Client) ControlDTCSetting(ctx context.Context, req ControlDTCSettingRequest) error {
	return c.Exchange(ctx, req, &ControlDTCSettingResponse{})
}

// exchangeMsg encodes req and sends it with Do.
func (c *Client) exchangeMsg(ctx context.Context, req Message) ([]byte, error) {
	b, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, b)
}
