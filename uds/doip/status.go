package doip

import (
	"encoding/binary"
	"fmt"
)

// NodeType tells whether an entity is a gateway or a node.
type NodeType uint8

// Node types.
const (
	NodeGateway NodeType = 0x00
	NodeNode    NodeType = 0x01
)

// EntityStatusRequest (0x4001) asks an entity for its status over UDP.
type EntityStatusRequest struct{}

// PayloadType returns TypeEntityStatusRequest.
func (EntityStatusRequest) PayloadType() PayloadType { return TypeEntityStatusRequest }

// AppendBinary appends the (empty) payload to b.
func (EntityStatusRequest) AppendBinary(b []byte) ([]byte, error) { return b, nil }

// MarshalBinary returns the (empty) payload.
func (m EntityStatusRequest) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary checks that b is empty.
func (m *EntityStatusRequest) UnmarshalBinary(b []byte) error {
	return checkLength(m.PayloadType(), b)
}

// EntityStatusResponse (0x4002) reports an entity's node type and TCP
// sockets. MaxDataSize, the largest diagnostic message the entity accepts,
// is on the wire only when HasMaxDataSize is set (7 bytes instead of 3).
type EntityStatusResponse struct {
	NodeType       NodeType
	MaxSockets     uint8
	OpenSockets    uint8
	MaxDataSize    uint32
	HasMaxDataSize bool
}

// PayloadType returns TypeEntityStatusResponse.
func (EntityStatusResponse) PayloadType() PayloadType { return TypeEntityStatusResponse }

// AppendBinary appends the payload to b.
func (m EntityStatusResponse) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(m.NodeType), m.MaxSockets, m.OpenSockets)
	if m.HasMaxDataSize {
		b = binary.BigEndian.AppendUint32(b, m.MaxDataSize)
	}
	return b, nil
}

// MarshalBinary returns the payload.
func (m EntityStatusResponse) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 3- or 7-byte payload.
func (m *EntityStatusResponse) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	*m = EntityStatusResponse{NodeType: NodeType(b[0]), MaxSockets: b[1], OpenSockets: b[2]}
	if len(b) == 7 {
		m.MaxDataSize, m.HasMaxDataSize = binary.BigEndian.Uint32(b[3:7]), true
	}
	return nil
}

// PowerMode is the diagnostic power mode of a vehicle.
type PowerMode uint8

// Diagnostic power modes.
const (
	PowerModeNotReady     PowerMode = 0x00
	PowerModeReady        PowerMode = 0x01
	PowerModeNotSupported PowerMode = 0x02
)

// String returns the mode's name.
func (p PowerMode) String() string {
	switch p {
	case PowerModeNotReady:
		return "not ready"
	case PowerModeReady:
		return "ready"
	case PowerModeNotSupported:
		return "not supported"
	}
	return fmt.Sprintf("reserved mode 0x%02X", uint8(p))
}

// PowerModeRequest (0x4003) asks an entity for the diagnostic power mode
// over UDP.
type PowerModeRequest struct{}

// PayloadType returns TypePowerModeRequest.
func (PowerModeRequest) PayloadType() PayloadType { return TypePowerModeRequest }

// AppendBinary appends the (empty) payload to b.
func (PowerModeRequest) AppendBinary(b []byte) ([]byte, error) { return b, nil }

// MarshalBinary returns the (empty) payload.
func (m PowerModeRequest) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary checks that b is empty.
func (m *PowerModeRequest) UnmarshalBinary(b []byte) error { return checkLength(m.PayloadType(), b) }

// PowerModeResponse (0x4004) reports the diagnostic power mode.
type PowerModeResponse struct {
	Mode PowerMode
}

// PayloadType returns TypePowerModeResponse.
func (PowerModeResponse) PayloadType() PayloadType { return TypePowerModeResponse }

// AppendBinary appends the payload to b.
func (m PowerModeResponse) AppendBinary(b []byte) ([]byte, error) {
	return append(b, byte(m.Mode)), nil
}

// MarshalBinary returns the payload.
func (m PowerModeResponse) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 1-byte payload.
func (m *PowerModeResponse) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	m.Mode = PowerMode(b[0])
	return nil
}
