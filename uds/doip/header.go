package doip

import (
	"encoding/binary"
	"fmt"
)

// Protocol versions carried in the first byte of the generic header.
const (
	Version2010    byte = 0x01 // ISO/DIS 13400-2:2010
	Version2012    byte = 0x02 // ISO 13400-2:2012
	Version2019    byte = 0x03 // ISO 13400-2:2019
	VersionDefault byte = 0xFF // any version; only in vehicle identification requests
)

// entityVersion reports whether a Server accepts protocol version v in the
// header of a request: the editions whose messages this package encodes.
// Version 0x00 and 0x04–0xFE are reserved by ISO 13400-2:2012/2019 (0x04 is
// ISO 13400-2:2019/Amd1, whose changes this package does not implement),
// and VersionDefault is valid only in vehicle identification requests; see
// udpVersion.
func entityVersion(v byte) bool {
	return v == Version2010 || v == Version2012 || v == Version2019
}

// udpVersion reports whether a Server accepts protocol version v in a UDP
// request of type t: an entity version, or VersionDefault in a vehicle
// identification request.
func udpVersion(v byte, t PayloadType) bool {
	if v == VersionDefault {
		return t == TypeVehicleIdentificationRequest ||
			t == TypeVehicleIdentificationRequestEID ||
			t == TypeVehicleIdentificationRequestVIN
	}
	return entityVersion(v)
}

// Ports assigned by ISO 13400-2.
const (
	Port    = 13400 // UDP_DISCOVERY and TCP_DATA
	TLSPort = 3496  // TCP_DATA over TLS (2019)
)

// HeaderLen is the size of the generic DoIP header in bytes.
const HeaderLen = 8

// DefaultMaxPayload is the largest payload a Reader, Client or Server accepts
// when no other maximum is configured: 64 KiB, room for a full UDS transfer
// block plus the diagnostic message's addresses.
const DefaultMaxPayload = 64<<10 + 4

// PayloadType identifies the message that follows a generic header.
type PayloadType uint16

// Payload types of ISO 13400-2 that this package encodes and decodes.
const (
	TypeGenericNACK                     PayloadType = 0x0000
	TypeVehicleIdentificationRequest    PayloadType = 0x0001
	TypeVehicleIdentificationRequestEID PayloadType = 0x0002
	TypeVehicleIdentificationRequestVIN PayloadType = 0x0003
	TypeVehicleAnnouncement             PayloadType = 0x0004
	TypeRoutingActivationRequest        PayloadType = 0x0005
	TypeRoutingActivationResponse       PayloadType = 0x0006
	TypeAliveCheckRequest               PayloadType = 0x0007
	TypeAliveCheckResponse              PayloadType = 0x0008
	TypeEntityStatusRequest             PayloadType = 0x4001
	TypeEntityStatusResponse            PayloadType = 0x4002
	TypePowerModeRequest                PayloadType = 0x4003
	TypePowerModeResponse               PayloadType = 0x4004
	TypeDiagnosticMessage               PayloadType = 0x8001
	TypeDiagnosticACK                   PayloadType = 0x8002
	TypeDiagnosticNACK                  PayloadType = 0x8003
)

var payloadTypeNames = map[PayloadType]string{
	TypeGenericNACK:                     "generic header NACK",
	TypeVehicleIdentificationRequest:    "vehicle identification request",
	TypeVehicleIdentificationRequestEID: "vehicle identification request with EID",
	TypeVehicleIdentificationRequestVIN: "vehicle identification request with VIN",
	TypeVehicleAnnouncement:             "vehicle announcement",
	TypeRoutingActivationRequest:        "routing activation request",
	TypeRoutingActivationResponse:       "routing activation response",
	TypeAliveCheckRequest:               "alive check request",
	TypeAliveCheckResponse:              "alive check response",
	TypeEntityStatusRequest:             "entity status request",
	TypeEntityStatusResponse:            "entity status response",
	TypePowerModeRequest:                "diagnostic power mode request",
	TypePowerModeResponse:               "diagnostic power mode response",
	TypeDiagnosticMessage:               "diagnostic message",
	TypeDiagnosticACK:                   "diagnostic message ACK",
	TypeDiagnosticNACK:                  "diagnostic message NACK",
}

// String returns the type's name, or its number in hex for unknown types.
func (t PayloadType) String() string {
	if s, ok := payloadTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("payload type 0x%04X", uint16(t))
}

// Header is the generic DoIP header that precedes every payload:
// protocol version, inverse version, payload type and payload length, all
// big-endian. The inverse version is not stored; MarshalBinary computes it
// and UnmarshalBinary checks it.
type Header struct {
	Version byte
	Type    PayloadType
	Length  uint32
}

// AppendBinary appends the 8 header bytes to b.
func (h Header) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, h.Version, ^h.Version)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Type))
	return binary.BigEndian.AppendUint32(b, h.Length), nil
}

// MarshalBinary returns the 8 header bytes.
func (h Header) MarshalBinary() ([]byte, error) {
	return h.AppendBinary(make([]byte, 0, HeaderLen))
}

// UnmarshalBinary decodes the first 8 bytes of b. It fails with ErrTruncated
// when b is shorter and with a *HeaderError whose code is
// HeaderNACKIncorrectPattern when the inverse version byte does not match;
// the fields are filled in either way when b is long enough.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("doip: header: %d bytes: %w", len(b), ErrTruncated)
	}
	h.Version = b[0]
	h.Type = PayloadType(binary.BigEndian.Uint16(b[2:4]))
	h.Length = binary.BigEndian.Uint32(b[4:8])
	if b[1] != ^b[0] {
		return &HeaderError{Header: *h, Code: HeaderNACKIncorrectPattern}
	}
	return nil
}

// String formats the header for logs.
func (h Header) String() string {
	return fmt.Sprintf("v0x%02X %v len %d", h.Version, h.Type, h.Length)
}
