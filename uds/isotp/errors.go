package isotp

import (
	"errors"
	"fmt"
)

// Errors reported by decoding, Send and Recv. They are wrapped with an
// operation prefix ("isotp send: ..."), so match them with errors.Is. The
// names in parentheses are the N_Result values of ISO 15765-2.
var (
	// ErrTruncated: a PDU is shorter than its protocol control information
	// says, or carries no data where data is required.
	ErrTruncated = errors.New("truncated PDU")
	// ErrWrongLength: a length field holds a value the standard does not
	// allow (SF_DL 0 or above 7, FF_DL that fits in the first frame, a PDU
	// longer than a CAN FD frame), or a consecutive frame is shorter than the
	// first frame announced.
	ErrWrongLength = errors.New("wrong length")
	// ErrUnknownPDU: the PCI type nibble is not 0–3.
	ErrUnknownPDU = errors.New("unknown PDU type")
	// ErrWrongSequence (N_WRONG_SN): a consecutive frame carries another
	// sequence number than the next one expected. The reception is aborted.
	// The error is a *SequenceError.
	ErrWrongSequence = errors.New("wrong sequence number")
	// ErrUnexpectedPDU (N_UNEXP_PDU): a single or first frame arrived while
	// a segmented reception was in progress; the reception is aborted and
	// the new frame starts a new one.
	ErrUnexpectedPDU = errors.New("unexpected PDU")
	// ErrInvalidFlowStatus (N_INVALID_FS): a flow control frame carries a
	// flow status other than CTS, WAIT or OVFLW.
	ErrInvalidFlowStatus = errors.New("invalid flow status")
	// ErrOverflow (N_BUFFER_OVFLW): the receiver answered the first frame
	// with flow status OVFLW: the message is larger than it accepts.
	ErrOverflow = errors.New("receiver buffer overflow")
	// ErrWaitLimit (N_WFT_OVRN): the receiver sent more consecutive WAIT
	// flow control frames than Config.WaitFrameMax allows.
	ErrWaitLimit = errors.New("wait frame limit exceeded")
	// ErrTimeoutAs (N_TIMEOUT_A): handing a frame to the bus took longer
	// than Config.TimeoutAs.
	ErrTimeoutAs = errors.New("N_As timeout: frame not transmitted in time")
	// ErrTimeoutBs (N_TIMEOUT_Bs): no flow control frame arrived within
	// Config.TimeoutBs.
	ErrTimeoutBs = errors.New("N_Bs timeout: no flow control")
	// ErrTimeoutCr (N_TIMEOUT_Cr): no consecutive frame arrived within
	// Config.TimeoutCr. The reception is aborted.
	ErrTimeoutCr = errors.New("N_Cr timeout: no consecutive frame")
	// ErrMessageTooLong: the message cannot be sent: it is empty, longer
	// than 2³²−1 bytes, or, for SendFunctional, longer than a single frame.
	ErrMessageTooLong = errors.New("message length not sendable")
	// ErrInvalidConfig: New was given a Config it cannot use.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrClosed: the Conn was closed.
	ErrClosed = errors.New("connection closed")
)

// SequenceError is the error of a reception aborted by a consecutive frame
// with an unexpected sequence number. It matches ErrWrongSequence.
type SequenceError struct {
	Want, Got uint8 // expected and received sequence numbers (0–15)
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("%v: got %d, want %d", ErrWrongSequence, e.Got, e.Want)
}

// Unwrap returns ErrWrongSequence.
func (e *SequenceError) Unwrap() error { return ErrWrongSequence }
