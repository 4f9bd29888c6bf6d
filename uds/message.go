package uds

import (
	"encoding"
	"encoding/binary"
	"fmt"
)

// Message is a UDS request or positive response that encodes itself.
// Every request and response type of this package implements it through a
// value receiver; their pointers also implement encoding.BinaryUnmarshaler.
type Message interface {
	// Service returns the service the message belongs to; for a response,
	// the service it answers.
	Service() SID
	// MarshalBinary encodes the whole message, service identifier first.
	MarshalBinary() ([]byte, error)
}

// message is a Message that also decodes itself.
type message interface {
	Message
	encoding.BinaryUnmarshaler
}

// DecodeRequest decodes a request of one of the services this package
// knows, returning a pointer to its type, such as
// *ReadDataByIdentifierRequest. Requests of other services, and
// ReadDTCInformation report types other than 0x01, 0x02 and 0x0A, give
// ErrUnsupported.
//
// Decoding is exact: re-encoding the result gives b.
func DecodeRequest(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode request: %w", ErrTruncated)
	}
	var m message
	switch SID(b[0]) {
	case SIDDiagnosticSessionControl:
		m = new(DiagnosticSessionControlRequest)
	case SIDECUReset:
		m = new(ECUResetRequest)
	case SIDClearDiagnosticInformation:
		m = new(ClearDiagnosticInformationRequest)
	case SIDReadDTCInformation:
		m = new(ReadDTCInformationRequest)
	case SIDReadDataByIdentifier:
		m = new(ReadDataByIdentifierRequest)
	case SIDSecurityAccess:
		m = new(SecurityAccessRequest)
	case SIDCommunicationControl:
		m = new(CommunicationControlRequest)
	case SIDWriteDataByIdentifier:
		m = new(WriteDataByIdentifierRequest)
	case SIDRoutineControl:
		m = new(RoutineControlRequest)
	case SIDTesterPresent:
		m = new(TesterPresentRequest)
	case SIDControlDTCSetting:
		m = new(ControlDTCSettingRequest)
	default:
		return nil, fmt.Errorf("decode request: %s: %w", SID(b[0]), ErrUnsupported)
	}
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeResponse decodes a positive response of one of the services this
// package knows, returning a pointer to its type, such as
// *DiagnosticSessionControlResponse. A negative response is returned as a
// *NegativeResponseError error. A ReadDataByIdentifier response is decoded
// in its raw form (see ReadDataByIdentifierResponse.UnmarshalBinary).
// Other services give ErrUnsupported.
//
// Decoding is exact: re-encoding the result (or the
// *NegativeResponseError) gives b.
func DecodeResponse(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode response: %w", ErrTruncated)
	}
	if b[0] == NegativeResponseSID {
		nr := new(NegativeResponseError)
		if err := nr.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		return nil, nr
	}
	var m message
	switch SID(b[0] - positiveResponseOffset) {
	case SIDDiagnosticSessionControl:
		m = new(DiagnosticSessionControlResponse)
	case SIDECUReset:
		m = new(ECUResetResponse)
	case SIDClearDiagnosticInformation:
		m = new(ClearDiagnosticInformationResponse)
	case SIDReadDTCInformation:
		if len(b) < 2 {
			return nil, fmt.Errorf("decode %s response: %w", SIDReadDTCInformation, ErrTruncated)
		}
		switch DTCReportType(b[1]) {
		case ReportNumberOfDTCByStatusMask:
			m = new(DTCCountResponse)
		case ReportDTCByStatusMask, ReportSupportedDTC:
			m = new(DTCListResponse)
		default:
			return nil, fmt.Errorf("decode %s response: report type 0x%02X: %w", SIDReadDTCInformation, b[1], ErrUnsupported)
		}
	case SIDReadDataByIdentifier:
		m = new(ReadDataByIdentifierResponse)
	case SIDSecurityAccess:
		m = new(SecurityAccessResponse)
	case SIDCommunicationControl:
		m = new(CommunicationControlResponse)
	case SIDWriteDataByIdentifier:
		m = new(WriteDataByIdentifierResponse)
	case SIDRoutineControl:
		m = new(RoutineControlResponse)
	case SIDTesterPresent:
		m = new(TesterPresentResponse)
	case SIDControlDTCSetting:
		m = new(ControlDTCSettingResponse)
	default:
		return nil, fmt.Errorf("decode response: first byte 0x%02X: %w", b[0], ErrUnsupported)
	}
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m, nil
}

// decoder reads the fields of one message in order. The first error sticks;
// later reads return zero values.
type decoder struct {
	sid      SID
	response bool
	b        []byte
	err      error
}

// newDecoder checks the message's first byte: the SID for a request, the
// positive response SID for a response.
func newDecoder(b []byte, sid SID, response bool) *decoder {
	d := &decoder{sid: sid, response: response}
	want := byte(sid)
	if response {
		want = sid.Response()
	}
	switch {
	case len(b) == 0:
		d.fail(ErrTruncated, "empty message")
	case b[0] != want:
		d.fail(ErrWrongService, fmt.Sprintf("first byte 0x%02X, want 0x%02X", b[0], want))
	default:
		d.b = b[1:]
	}
	return d
}

func (d *decoder) fail(err error, detail string) {
	if d.err != nil {
		return
	}
	kind := "request"
	if d.response {
		kind = "response"
	}
	d.err = fmt.Errorf("decode %s %s: %s: %w", d.sid, kind, detail, err)
	d.b = nil
}

func (d *decoder) take(n int, field string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail(ErrTruncated, fmt.Sprintf("%s needs %d bytes, %d left", field, n, len(d.b)))
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) uint8(field string) byte {
	if p := d.take(1, field); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) uint16(field string) uint16 {
	if p := d.take(2, field); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) uint24(field string) uint32 {
	if p := d.take(3, field); p != nil {
		return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
	}
	return 0
}

// subFunction reads a request's sub-function byte, splitting off the
// suppressPosRspMsgIndicationBit.
func (d *decoder) subFunction() (value byte, suppress bool) {
	v := d.uint8("sub-function")
	return v &^ suppressBit, v&suppressBit != 0
}

// echo reads the sub-function echoed by a positive response, whose bit 7
// must be clear.
func (d *decoder) echo() byte {
	v := d.uint8("sub-function")
	if v&suppressBit != 0 {
		d.fail(ErrInvalidValue, fmt.Sprintf("sub-function echo 0x%02X has bit 7 set", v))
	}
	return v
}

// rest returns a copy of the remaining bytes, nil if none.
func (d *decoder) rest() []byte {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	p := append([]byte(nil), d.b...)
	d.b = nil
	return p
}

// finish reports the first error, or ErrTrailingData if bytes are left.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail(ErrTrailingData, fmt.Sprintf("%d bytes left", len(d.b)))
	}
	return d.err
}

// encoder appends the fields of one message. The first error sticks.
type encoder struct {
	sid      SID
	response bool
	b        []byte
	err      error
}

func newEncoder(sid SID, response bool, size int) *encoder {
	e := &encoder{sid: sid, response: response, b: make([]byte, 0, size)}
	if response {
		e.b = append(e.b, sid.Response())
	} else {
		e.b = append(e.b, byte(sid))
	}
	return e
}

func (e *encoder) fail(detail string) {
	if e.err != nil {
		return
	}
	kind := "request"
	if e.response {
		kind = "response"
	}
	e.err = fmt.Errorf("encode %s %s: %s: %w", e.sid, kind, detail, ErrInvalidValue)
}

func (e *encoder) uint8(v byte) { e.b = append(e.b, v) }

func (e *encoder) uint16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }

func (e *encoder) uint24(v uint32, field string) {
	if v > 0xFFFFFF {
		e.fail(fmt.Sprintf("%s 0x%X wider than 24 bits", field, v))
	}
	e.b = append(e.b, byte(v>>16), byte(v>>8), byte(v))
}

func (e *encoder) bytes(p []byte) { e.b = append(e.b, p...) }

// subFunction appends a request's sub-function byte with the
// suppressPosRspMsgIndicationBit.
func (e *encoder) subFunction(v byte, suppress bool) {
	if v&suppressBit != 0 {
		e.fail(fmt.Sprintf("sub-function 0x%02X has bit 7 set", v))
	}
	if suppress {
		v |= suppressBit
	}
	e.b = append(e.b, v)
}

// echo appends the sub-function echo of a positive response.
func (e *encoder) echo(v byte) {
	if v&suppressBit != 0 {
		e.fail(fmt.Sprintf("sub-function 0x%02X has bit 7 set", v))
	}
	e.b = append(e.b, v)
}

func (e *encoder) result() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}
