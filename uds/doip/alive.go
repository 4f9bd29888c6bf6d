package doip

import "encoding/binary"

// AliveCheckRequest (0x0007) is sent by the entity to check that a tester
// still uses its TCP connection.
type AliveCheckRequest struct{}

// PayloadType returns TypeAliveCheckRequest.
func (AliveCheckRequest) PayloadType() PayloadType { return TypeAliveCheckRequest }

// AppendBinary appends the (empty) payload to b.
func (AliveCheckRequest) AppendBinary(b []byte) ([]byte, error) { return b, nil }

// MarshalBinary returns the (empty) payload.
func (m AliveCheckRequest) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary checks that b is empty.
func (m *AliveCheckRequest) UnmarshalBinary(b []byte) error { return checkLength(m.PayloadType(), b) }

// AliveCheckResponse (0x0008) answers an alive check with the tester's
// source address.
type AliveCheckResponse struct {
	SourceAddress uint16
}

// PayloadType returns TypeAliveCheckResponse.
func (AliveCheckResponse) PayloadType() PayloadType { return TypeAliveCheckResponse }

// AppendBinary appends the payload to b.
func (m AliveCheckResponse) AppendBinary(b []byte) ([]byte, error) {
	return binary.BigEndian.AppendUint16(b, m.SourceAddress), nil
}

// MarshalBinary returns the payload.
func (m AliveCheckResponse) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 2-byte payload.
func (m *AliveCheckResponse) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	m.SourceAddress = binary.BigEndian.Uint16(b)
	return nil
}
