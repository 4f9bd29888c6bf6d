package doip

import (
	"errors"
	"fmt"
	"io"
)

// Reader reads DoIP messages from a stream such as a TCP connection. It
// checks each generic header in the order of ISO 13400-2 before it reads
// the payload, so it never buffers more than MaxPayload bytes:
//
//   - inverse version byte wrong, or a version that Versions refuses:
//     *HeaderError with HeaderNACKIncorrectPattern; the stream cannot be
//     resynchronised and the socket must be closed
//   - payload type unknown or not Supported: HeaderNACKUnknownPayloadType;
//     the payload is skipped and the next ReadMessage goes on after it
//   - payload longer than MaxPayload: HeaderNACKMessageTooLarge; skipped too
//   - length not valid for the type: HeaderNACKInvalidPayloadLength; close
//
// Skipped payloads are discarded in small chunks on the next ReadMessage,
// so the caller can send its NACK first. A stream that ends inside a message
// gives ErrTruncated; one that ends between messages gives io.EOF. Errors
// other than the two skippable header errors are sticky: every later
// ReadMessage returns the same error.
//
// Set the exported fields before the first ReadMessage. A Reader is not safe
// for concurrent use.
type Reader struct {
	// MaxPayload is the largest payload accepted; zero means
	// DefaultMaxPayload.
	MaxPayload uint32
	// Supported restricts the payload types accepted (others are refused
	// with HeaderNACKUnknownPayloadType); nil accepts every Known type.
	Supported func(PayloadType) bool
	// Versions restricts the protocol versions accepted (others fail the
	// pattern check: HeaderNACKIncorrectPattern, close); nil accepts every
	// version whose inverse byte matches, as a tester should.
	Versions func(byte) bool

	r    io.Reader
	skip int64
	err  error
	hdr  [HeaderLen]byte
}

// NewReader returns a Reader that reads from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

func (r *Reader) maxPayload() uint32 {
	if r.MaxPayload == 0 {
		return DefaultMaxPayload
	}
	return r.MaxPayload
}

// checkHeader returns the HeaderError, if any, for a header with a correct
// pattern, given the types accepted and the maximum payload length.
func checkHeader(h Header, supported func(PayloadType) bool, maxPayload uint32) *HeaderError {
	switch {
	case !Known(h.Type) || (supported != nil && !supported(h.Type)):
		return &HeaderError{Header: h, Code: HeaderNACKUnknownPayloadType}
	case h.Length > maxPayload:
		return &HeaderError{Header: h, Code: HeaderNACKMessageTooLarge}
	case !ValidLength(h.Type, h.Length):
		return &HeaderError{Header: h, Code: HeaderNACKInvalidPayloadLength}
	}
	return nil
}

// ReadMessage reads the next message. See Reader for its errors.
func (r *Reader) ReadMessage() (Header, Message, error) {
	if r.err != nil {
		return Header{}, nil, r.err
	}
	if r.skip > 0 {
		n, err := io.CopyN(io.Discard, r.r, r.skip)
		r.skip -= n
		if err != nil {
			return Header{}, nil, r.fail(fmt.Errorf("doip: skip payload: %w", truncated(err)))
		}
	}
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if err == io.EOF {
			return Header{}, nil, r.fail(io.EOF)
		}
		return Header{}, nil, r.fail(fmt.Errorf("doip: read header: %w", truncated(err)))
	}
	var h Header
	if err := h.UnmarshalBinary(r.hdr[:]); err != nil {
		return h, nil, r.fail(err)
	}
	if r.Versions != nil && !r.Versions(h.Version) {
		return h, nil, r.fail(unsupportedVersion(h))
	}
	if herr := checkHeader(h, r.Supported, r.maxPayload()); herr != nil {
		if herr.Code.ClosesSocket() {
			return h, nil, r.fail(herr)
		}
		r.skip = int64(h.Length)
		return h, nil, herr
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(r.r, payload); err != nil {
		return h, nil, r.fail(fmt.Errorf("doip: read %v payload: %w", h.Type, truncated(err)))
	}
	m, err := decodePayload(h.Type, payload)
	if err != nil {
		return h, nil, r.fail(err)
	}
	return h, m, nil
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// truncated maps the end of the stream inside a message to ErrTruncated.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)
	}
	return err
}
