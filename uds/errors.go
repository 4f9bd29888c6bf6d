package uds

import (
	"errors"
	"fmt"
)

// Errors of the message codec. Decoders and encoders wrap them with the
// operation, so match them with errors.Is.
var (
	// ErrTruncated means a message ends before its last field.
	ErrTruncated = errors.New("uds: message truncated")
	// ErrTrailingData means a message is longer than its format allows.
	ErrTrailingData = errors.New("uds: trailing data after message")
	// ErrWrongService means a message starts with another service's
	// (response) identifier than the decoder expects.
	ErrWrongService = errors.New("uds: wrong service identifier")
	// ErrInvalidValue means a field holds a value its format cannot carry,
	// such as a sub-function with bit 7 set or a DTC wider than 24 bits.
	ErrInvalidValue = errors.New("uds: invalid value")
	// ErrUnsupported means DecodeRequest or DecodeResponse do not know the
	// format of the message's service or sub-function.
	ErrUnsupported = errors.New("uds: unsupported service or sub-function")
)

// ErrTimeout is returned by Client when the server's response did not
// arrive within P2, or within P2* after a response pending (NRC 0x78).
var ErrTimeout = errors.New("uds: response timeout")

// ErrPendingUnsupported is returned by ResponsePending when the handler
// was not called by Server.Serve, so there is no transport to send the
// response pending message on.
var ErrPendingUnsupported = errors.New("uds: response pending needs Server.Serve")

// NegativeResponseError is a negative response 7F <sid> <nrc>: the server
// refused the request of service SID with code NRC. Client returns it;
// match it with errors.As, or match the code alone with
// errors.Is(err, uds.NRCRequestOutOfRange).
//
// It also encodes and decodes the negative response message.
type NegativeResponseError struct {
	SID SID
	NRC NRC
}

// Error returns, e.g., "uds: ReadDataByIdentifier: negative response
// requestOutOfRange (0x31)".
func (e *NegativeResponseError) Error() string {
	return fmt.Sprintf("uds: %s: negative response %s (0x%02X)", e.SID, e.NRC.String(), byte(e.NRC))
}

// Unwrap returns the NRC, so errors.Is and errors.As see the code.
func (e *NegativeResponseError) Unwrap() error { return e.NRC }

// Service returns the service that was refused.
func (e *NegativeResponseError) Service() SID { return e.SID }

// MarshalBinary encodes 7F <sid> <nrc>.
func (e *NegativeResponseError) MarshalBinary() ([]byte, error) {
	return []byte{NegativeResponseSID, byte(e.SID), byte(e.NRC)}, nil
}

// UnmarshalBinary decodes a negative response of exactly three bytes.
func (e *NegativeResponseError) UnmarshalBinary(b []byte) error {
	const op = "decode negative response"
	switch {
	case len(b) == 0:
		return fmt.Errorf("%s: %w", op, ErrTruncated)
	case b[0] != NegativeResponseSID:
		return fmt.Errorf("%s: got 0x%02X: %w", op, b[0], ErrWrongService)
	case len(b) < 3:
		return fmt.Errorf("%s: %d bytes, want 3: %w", op, len(b), ErrTruncated)
	case len(b) > 3:
		return fmt.Errorf("%s: %d bytes, want 3: %w", op, len(b), ErrTrailingData)
	}
	e.SID, e.NRC = SID(b[1]), NRC(b[2])
	return nil
}
