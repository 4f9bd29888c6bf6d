package doip

import (
	"errors"
	"fmt"
)

// GenericNACK (0x0000) refuses a message because of its generic header.
type GenericNACK struct {
	Code HeaderNACKCode
}

// PayloadType returns TypeGenericNACK.
func (GenericNACK) PayloadType() PayloadType { return TypeGenericNACK }

// AppendBinary appends the payload to b.
func (m GenericNACK) AppendBinary(b []byte) ([]byte, error) { return append(b, byte(m.Code)), nil }

// MarshalBinary returns the payload.
func (m GenericNACK) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 1-byte payload.
func (m *GenericNACK) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	m.Code = HeaderNACKCode(b[0])
	return nil
}

// ErrTruncated reports input that ended inside a message: a short header,
// a payload shorter than its header announced, or a stream closed mid-message.
var ErrTruncated = errors.New("doip: truncated message")

// HeaderNACKCode is the code of a generic DoIP header negative acknowledge
// (payload type 0x0000). It implements error, like syscall.Errno, so that
// errors.Is(err, HeaderNACKMessageTooLarge) matches both a NACK received
// from the peer and a header the Reader refused.
type HeaderNACKCode uint8

// Generic header NACK codes.
const (
	HeaderNACKIncorrectPattern     HeaderNACKCode = 0x00 // inverse version wrong, or version not supported
	HeaderNACKUnknownPayloadType   HeaderNACKCode = 0x01 // payload type not supported
	HeaderNACKMessageTooLarge      HeaderNACKCode = 0x02 // payload longer than the receiver's maximum
	HeaderNACKOutOfMemory          HeaderNACKCode = 0x03 // no memory for the payload now
	HeaderNACKInvalidPayloadLength HeaderNACKCode = 0x04 // length not valid for the payload type
)

var headerNACKNames = [...]string{
	"incorrect pattern format",
	"unknown payload type",
	"message too large",
	"out of memory",
	"invalid payload length",
}

// String returns the code's name.
func (c HeaderNACKCode) String() string {
	if int(c) < len(headerNACKNames) {
		return headerNACKNames[c]
	}
	return fmt.Sprintf("reserved code 0x%02X", uint8(c))
}

// Error describes the code as an error.
func (c HeaderNACKCode) Error() string { return "generic header NACK: " + c.String() }

// ClosesSocket reports whether ISO 13400-2 requires the receiver of a bad
// header to close the TCP socket after sending this NACK (incorrect pattern,
// invalid payload length). For the other codes the payload is discarded and
// the connection goes on.
func (c HeaderNACKCode) ClosesSocket() bool {
	return c == HeaderNACKIncorrectPattern || c == HeaderNACKInvalidPayloadLength
}

// HeaderError is a message the receiver must refuse because of its generic
// header. Code is the generic NACK to answer with; Code.ClosesSocket tells
// whether the connection must be closed afterwards. errors.Is matches it
// against its Code.
type HeaderError struct {
	Header Header
	Code   HeaderNACKCode

	reason string // what failed the check, when the code alone does not tell
}

func (e *HeaderError) Error() string {
	if e.reason != "" {
		return fmt.Sprintf("doip: header %v: %v: %s", e.Header, e.Code.String(), e.reason)
	}
	return fmt.Sprintf("doip: header %v: %v", e.Header, e.Code.String())
}

// unsupportedVersion returns the HeaderError for a header whose protocol
// version the receiver does not support: ISO 13400-2 counts it as a failed
// synchronization pattern, like a wrong inverse version.
func unsupportedVersion(h Header) *HeaderError {
	return &HeaderError{
		Header: h, Code: HeaderNACKIncorrectPattern,
		reason: fmt.Sprintf("protocol version 0x%02X not supported", h.Version),
	}
}

// Unwrap returns e.Code.
func (e *HeaderError) Unwrap() error { return e.Code }

// DiagNACKCode is the code of a diagnostic message negative acknowledge
// (payload type 0x8003). It implements error: DiagConn.Send returns it
// wrapped, so errors.Is(err, DiagNACKUnknownTargetAddress) works.
type DiagNACKCode uint8

// Diagnostic message NACK codes.
const (
	DiagNACKInvalidSourceAddress   DiagNACKCode = 0x02
	DiagNACKUnknownTargetAddress   DiagNACKCode = 0x03
	DiagNACKMessageTooLarge        DiagNACKCode = 0x04
	DiagNACKOutOfMemory            DiagNACKCode = 0x05
	DiagNACKTargetUnreachable      DiagNACKCode = 0x06
	DiagNACKUnknownNetwork         DiagNACKCode = 0x07
	DiagNACKTransportProtocolError DiagNACKCode = 0x08
)

var diagNACKNames = map[DiagNACKCode]string{
	DiagNACKInvalidSourceAddress:   "invalid source address",
	DiagNACKUnknownTargetAddress:   "unknown target address",
	DiagNACKMessageTooLarge:        "diagnostic message too large",
	DiagNACKOutOfMemory:            "out of memory",
	DiagNACKTargetUnreachable:      "target unreachable",
	DiagNACKUnknownNetwork:         "unknown network",
	DiagNACKTransportProtocolError: "transport protocol error",
}

// String returns the code's name.
func (c DiagNACKCode) String() string {
	if s, ok := diagNACKNames[c]; ok {
		return s
	}
	return fmt.Sprintf("reserved code 0x%02X", uint8(c))
}

// Error describes the code as an error.
func (c DiagNACKCode) Error() string { return "diagnostic message NACK: " + c.String() }
