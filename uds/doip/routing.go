package doip

import (
	"encoding/binary"
	"fmt"
)

// ActivationType is the routing activation type a tester requests.
type ActivationType uint8

// Routing activation types.
const (
	ActivationDefault         ActivationType = 0x00
	ActivationWWHOBD          ActivationType = 0x01 // WWH-OBD (ISO 27145)
	ActivationCentralSecurity ActivationType = 0xE0
)

// RoutingActivationCode is the response code of a routing activation
// response. It implements error: Dial returns the code wrapped when routing
// is not activated, so errors.Is(err, RoutingUnknownSourceAddress) and
// errors.As(err, new(RoutingActivationCode)) work.
type RoutingActivationCode uint8

// Routing activation response codes.
const (
	RoutingUnknownSourceAddress      RoutingActivationCode = 0x00 // denied: unknown source address
	RoutingAllSocketsRegistered      RoutingActivationCode = 0x01 // denied: all TCP sockets registered and active
	RoutingDifferentSourceAddress    RoutingActivationCode = 0x02 // denied: socket already active with another source address
	RoutingSourceAddressActive       RoutingActivationCode = 0x03 // denied: source address already active on another socket
	RoutingMissingAuthentication     RoutingActivationCode = 0x04 // denied: missing authentication
	RoutingRejectedConfirmation      RoutingActivationCode = 0x05 // denied: rejected confirmation
	RoutingUnsupportedActivationType RoutingActivationCode = 0x06 // denied: unsupported activation type
	RoutingRequiresTLS               RoutingActivationCode = 0x07 // denied: TLS required (2019)
	RoutingSuccess                   RoutingActivationCode = 0x10 // routing successfully activated
	RoutingConfirmationRequired      RoutingActivationCode = 0x11 // activated once confirmed
)

var routingCodeNames = map[RoutingActivationCode]string{
	RoutingUnknownSourceAddress:      "unknown source address",
	RoutingAllSocketsRegistered:      "all sockets registered and active",
	RoutingDifferentSourceAddress:    "different source address on this socket",
	RoutingSourceAddressActive:       "source address already active",
	RoutingMissingAuthentication:     "missing authentication",
	RoutingRejectedConfirmation:      "rejected confirmation",
	RoutingUnsupportedActivationType: "unsupported activation type",
	RoutingRequiresTLS:               "TLS required",
	RoutingSuccess:                   "successfully activated",
	RoutingConfirmationRequired:      "confirmation required",
}

// String returns the code's name.
func (c RoutingActivationCode) String() string {
	if s, ok := routingCodeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("reserved code 0x%02X", uint8(c))
}

// Error describes the code as an error.
func (c RoutingActivationCode) Error() string { return "routing activation: " + c.String() }

// closesSocket reports whether ISO 13400-2 has the entity close the socket
// after answering with this code: every denial but missing authentication,
// after which the tester may authenticate and ask again.
func (c RoutingActivationCode) closesSocket() bool {
	switch c {
	case RoutingUnknownSourceAddress, RoutingAllSocketsRegistered, RoutingDifferentSourceAddress,
		RoutingSourceAddressActive, RoutingRejectedConfirmation, RoutingUnsupportedActivationType,
		RoutingRequiresTLS:
		return true
	}
	return false
}

// RoutingActivationRequest (0x0005) asks the entity to route diagnostic
// messages from SourceAddress on this TCP connection. The 4 OEM-specific
// bytes are on the wire only when HasOEM is set (11 bytes instead of 7).
type RoutingActivationRequest struct {
	SourceAddress  uint16
	ActivationType ActivationType
	Reserved       [4]byte // reserved by ISO 13400, zero
	OEM            [4]byte
	HasOEM         bool
}

// PayloadType returns TypeRoutingActivationRequest.
func (RoutingActivationRequest) PayloadType() PayloadType { return TypeRoutingActivationRequest }

// AppendBinary appends the payload to b.
func (m RoutingActivationRequest) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, m.SourceAddress)
	b = append(b, byte(m.ActivationType))
	b = append(b, m.Reserved[:]...)
	if m.HasOEM {
		b = append(b, m.OEM[:]...)
	}
	return b, nil
}

// MarshalBinary returns the payload.
func (m RoutingActivationRequest) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 7- or 11-byte payload.
func (m *RoutingActivationRequest) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	*m = RoutingActivationRequest{
		SourceAddress:  binary.BigEndian.Uint16(b[0:2]),
		ActivationType: ActivationType(b[2]),
	}
	copy(m.Reserved[:], b[3:7])
	if len(b) == 11 {
		copy(m.OEM[:], b[7:11])
		m.HasOEM = true
	}
	return nil
}

// RoutingActivationResponse (0x0006) answers a routing activation request.
// The 4 OEM-specific bytes are on the wire only when HasOEM is set (13
// bytes instead of 9).
type RoutingActivationResponse struct {
	TesterAddress uint16
	EntityAddress uint16
	Code          RoutingActivationCode
	Reserved      [4]byte // reserved by ISO 13400, zero
	OEM           [4]byte
	HasOEM        bool
}

// PayloadType returns TypeRoutingActivationResponse.
func (RoutingActivationResponse) PayloadType() PayloadType { return TypeRoutingActivationResponse }

// AppendBinary appends the payload to b.
func (m RoutingActivationResponse) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, m.TesterAddress)
	b = binary.BigEndian.AppendUint16(b, m.EntityAddress)
	b = append(b, byte(m.Code))
	b = append(b, m.Reserved[:]...)
	if m.HasOEM {
		b = append(b, m.OEM[:]...)
	}
	return b, nil
}

// MarshalBinary returns the payload.
func (m RoutingActivationResponse) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 9- or 13-byte payload.
func (m *RoutingActivationResponse) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	*m = RoutingActivationResponse{
		TesterAddress: binary.BigEndian.Uint16(b[0:2]),
		EntityAddress: binary.BigEndian.Uint16(b[2:4]),
		Code:          RoutingActivationCode(b[4]),
	}
	copy(m.Reserved[:], b[5:9])
	if len(b) == 13 {
		copy(m.OEM[:], b[9:13])
		m.HasOEM = true
	}
	return nil
}
