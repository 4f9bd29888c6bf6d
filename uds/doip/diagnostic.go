package doip

import (
	"encoding/binary"
	"errors"
)

var errEmptyUserData = errors.New("empty user data")

// DiagnosticMessage (0x8001) carries one UDS message (user data, service id
// first) from SourceAddress to TargetAddress. Data must not be empty.
type DiagnosticMessage struct {
	SourceAddress uint16
	TargetAddress uint16
	Data          []byte
}

// PayloadType returns TypeDiagnosticMessage.
func (DiagnosticMessage) PayloadType() PayloadType { return TypeDiagnosticMessage }

// AppendBinary appends the payload to b. It fails for empty Data.
func (m DiagnosticMessage) AppendBinary(b []byte) ([]byte, error) {
	if len(m.Data) == 0 {
		return b, errEmptyUserData
	}
	b = binary.BigEndian.AppendUint16(b, m.SourceAddress)
	b = binary.BigEndian.AppendUint16(b, m.TargetAddress)
	return append(b, m.Data...), nil
}

// MarshalBinary returns the payload.
func (m DiagnosticMessage) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a payload of at least 5 bytes; Data is a copy.
func (m *DiagnosticMessage) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	*m = DiagnosticMessage{
		SourceAddress: binary.BigEndian.Uint16(b[0:2]),
		TargetAddress: binary.BigEndian.Uint16(b[2:4]),
		Data:          append([]byte(nil), b[4:]...),
	}
	return nil
}

// DiagnosticACKCode is the code of a diagnostic message positive ACK;
// ISO 13400-2 defines only DiagnosticACKConfirm.
type DiagnosticACKCode uint8

// DiagnosticACKConfirm is the positive acknowledge code 0x00.
const DiagnosticACKConfirm DiagnosticACKCode = 0x00

// DiagnosticACK (0x8002) confirms that the entity received a diagnostic
// message and forwarded it to the target. It is sent from the target
// (SourceAddress) to the tester (TargetAddress). Previous optionally
// echoes the start of the acknowledged message's user data.
type DiagnosticACK struct {
	SourceAddress uint16
	TargetAddress uint16
	Code          DiagnosticACKCode
	Previous      []byte
}

// PayloadType returns TypeDiagnosticACK.
func (DiagnosticACK) PayloadType() PayloadType { return TypeDiagnosticACK }

// AppendBinary appends the payload to b.
func (m DiagnosticACK) AppendBinary(b []byte) ([]byte, error) {
	return appendDiagReply(b, m.SourceAddress, m.TargetAddress, uint8(m.Code), m.Previous), nil
}

// MarshalBinary returns the payload.
func (m DiagnosticACK) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a payload of at least 5 bytes; Previous is a
// copy, nil when absent.
func (m *DiagnosticACK) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	var code uint8
	*m = DiagnosticACK{}
	m.SourceAddress, m.TargetAddress, code, m.Previous = decodeDiagReply(b)
	m.Code = DiagnosticACKCode(code)
	return nil
}

// DiagnosticNACK (0x8003) refuses a diagnostic message. It is sent from the
// target (SourceAddress) to the tester (TargetAddress). Previous optionally
// echoes the start of the refused message's user data.
type DiagnosticNACK struct {
	SourceAddress uint16
	TargetAddress uint16
	Code          DiagNACKCode
	Previous      []byte
}

// PayloadType returns TypeDiagnosticNACK.
func (DiagnosticNACK) PayloadType() PayloadType { return TypeDiagnosticNACK }

// AppendBinary appends the payload to b.
func (m DiagnosticNACK) AppendBinary(b []byte) ([]byte, error) {
	return appendDiagReply(b, m.SourceAddress, m.TargetAddress, uint8(m.Code), m.Previous), nil
}

// MarshalBinary returns the payload.
func (m DiagnosticNACK) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a payload of at least 5 bytes; Previous is a
// copy, nil when absent.
func (m *DiagnosticNACK) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	var code uint8
	*m = DiagnosticNACK{}
	m.SourceAddress, m.TargetAddress, code, m.Previous = decodeDiagReply(b)
	m.Code = DiagNACKCode(code)
	return nil
}

func appendDiagReply(b []byte, sa, ta uint16, code uint8, prev []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, sa)
	b = binary.BigEndian.AppendUint16(b, ta)
	b = append(b, code)
	return append(b, prev...)
}

func decodeDiagReply(b []byte) (sa, ta uint16, code uint8, prev []byte) {
	sa = binary.BigEndian.Uint16(b[0:2])
	ta = binary.BigEndian.Uint16(b[2:4])
	code = b[4]
	if len(b) > 5 {
		prev = append([]byte(nil), b[5:]...)
	}
	return sa, ta, code, prev
}
