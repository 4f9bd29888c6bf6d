// Package uds implements Unified Diagnostic Services (ISO 14229-1): the
// message codec, a client that talks to an ECU, and a request dispatcher
// for simulated ECUs. Messages travel over a Transport; the sub-packages
// isotp (ISO 15765-2 over CAN) and doip (ISO 13400-2 over IP) provide one.
//
// # Messages
//
// A request starts with its service identifier (SID), a positive response
// with the SID plus 0x40, and a negative response is 7F <sid> <nrc>. SID
// and NRC name every service and negative response code of ISO 14229-1.
//
// Each supported service has a request and a response type with
// MarshalBinary and UnmarshalBinary, such as DiagnosticSessionControlRequest
// (10 03) and DiagnosticSessionControlResponse (50 03 00 32 01 F4).
// DecodeRequest and DecodeResponse pick the type from the message. Decoding
// is strict and exact: a short message gives ErrTruncated, a long one
// ErrTrailingData, another service's message ErrWrongService and an
// unencodable field ErrInvalidValue, and whatever decodes re-encodes to the
// same bytes. A negative response decodes to a *NegativeResponseError.
//
// Services with a sub-function carry the suppressPosRspMsgIndicationBit
// (bit 7 of the sub-function byte) as a SuppressPositiveResponse field; the
// sub-function fields themselves hold bits 0-6.
//
// ReadDataByIdentifier responses do not carry the length of each value.
// ReadDataByIdentifierResponse.UnmarshalBinary keeps the first identifier
// and all bytes after it; UnmarshalWithLengths splits several records with
// a DataLengthFunc.
//
// # Client
//
// Client sends one request at a time and waits for its response: up to P2
// (default 50 ms), extended to P2* (default 5 s) by each response pending
// (NRC 0x78). Stale messages that do not answer the request are discarded.
// Failures are typed: ErrTimeout when the server stays silent,
// *NegativeResponseError when it refuses:
//
//	vin, err := c.ReadDataByIdentifier(ctx, 0xF190)
//	var nr *uds.NegativeResponseError
//	if errors.As(err, &nr) && nr.NRC == uds.NRCRequestOutOfRange { ... }
//	if errors.Is(err, uds.NRCRequestOutOfRange) { ... } // the same test
//
// With the positive response suppressed, as in TesterPresent(ctx, true),
// the client waits P2 for a negative response and succeeds if none comes.
//
// # Server
//
// Server dispatches requests to a HandlerFunc per service or sub-function
// and sends the negative responses that ISO 14229-1 prescribes for
// unknown services (0x11), unknown sub-functions (0x12) and short requests
// (0x13). A handler refuses a request by returning an NRC:
//
//	s := uds.NewServer()
//	s.Handle(uds.SIDReadDataByIdentifier, func(ctx context.Context, req []byte) ([]byte, error) {
//		return nil, uds.NRCRequestOutOfRange
//	})
//	err := s.Serve(ctx, transport) // until ctx ends or the transport fails
//
// A slow handler calls ResponsePending to make the client wait for P2*.
// The server drops positive responses that the request suppressed.
package uds
