package doip

import (
	"encoding"
	"fmt"
)

// Message is one DoIP payload. Every payload type of this package is a small
// value type that implements it; MarshalBinary and AppendBinary encode the
// payload alone, without the generic header (see AppendMessage).
type Message interface {
	PayloadType() PayloadType
	encoding.BinaryAppender
	encoding.BinaryMarshaler
}

// lengthRule is the set of payload lengths ISO 13400-2 allows for a type:
// exactly min, exactly alt (when alt > 0), or at least min when open.
type lengthRule struct {
	min, alt uint32
	open     bool
}

func (r lengthRule) ok(n uint32) bool {
	if r.open {
		return n >= r.min
	}
	return n == r.min || (r.alt > 0 && n == r.alt)
}

var lengthRules = map[PayloadType]lengthRule{
	TypeGenericNACK:                     {min: 1},
	TypeVehicleIdentificationRequest:    {min: 0},
	TypeVehicleIdentificationRequestEID: {min: 6},
	TypeVehicleIdentificationRequestVIN: {min: 17},
	TypeVehicleAnnouncement:             {min: 32, alt: 33},
	TypeRoutingActivationRequest:        {min: 7, alt: 11},
	TypeRoutingActivationResponse:       {min: 9, alt: 13},
	TypeAliveCheckRequest:               {min: 0},
	TypeAliveCheckResponse:              {min: 2},
	TypeEntityStatusRequest:             {min: 0},
	TypeEntityStatusResponse:            {min: 3, alt: 7},
	TypePowerModeRequest:                {min: 0},
	TypePowerModeResponse:               {min: 1},
	TypeDiagnosticMessage:               {min: 5, open: true},
	TypeDiagnosticACK:                   {min: 5, open: true},
	TypeDiagnosticNACK:                  {min: 5, open: true},
}

// Known reports whether this package encodes and decodes payload type t.
func Known(t PayloadType) bool {
	_, ok := lengthRules[t]
	return ok
}

// ValidLength reports whether n is a payload length ISO 13400-2 allows for
// payload type t. It is false for unknown types.
func ValidLength(t PayloadType, n uint32) bool {
	r, ok := lengthRules[t]
	return ok && r.ok(n)
}

// checkLength returns the error UnmarshalBinary gives for a payload of the
// wrong length.
func checkLength(t PayloadType, b []byte) error {
	if uint64(len(b)) > 0xFFFFFFFF || !ValidLength(t, uint32(len(b))) {
		return fmt.Errorf("doip: unmarshal %v: %d bytes: %w", t, len(b), HeaderNACKInvalidPayloadLength)
	}
	return nil
}

// AppendMessage appends m with its generic header (protocol version
// version) to dst.
func AppendMessage(dst []byte, version byte, m Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLen)...)
	dst, err := m.AppendBinary(dst)
	if err != nil {
		return dst[:start], fmt.Errorf("doip: marshal %v: %w", m.PayloadType(), err)
	}
	n := len(dst) - start - HeaderLen
	if uint64(n) > 0xFFFFFFFF {
		return dst[:start], fmt.Errorf("doip: marshal %v: payload of %d bytes: %w", m.PayloadType(), n, HeaderNACKMessageTooLarge)
	}
	h := Header{Version: version, Type: m.PayloadType(), Length: uint32(n)}
	_, _ = h.AppendBinary(dst[start:start])
	return dst, nil
}

// MarshalMessage returns m with its generic header.
func MarshalMessage(version byte, m Message) ([]byte, error) {
	return AppendMessage(nil, version, m)
}

// DecodeMessage decodes b, which must hold exactly one message: header and
// payload, as in a UDP datagram. Errors: ErrTruncated when b is shorter than
// the header or than the length it announces; a *HeaderError for an
// incorrect pattern, an unknown payload type, or a length that is not valid
// for the type or does not match len(b). The decoded message does not alias b.
func DecodeMessage(b []byte) (Header, Message, error) {
	var h Header
	if err := h.UnmarshalBinary(b); err != nil {
		return h, nil, err
	}
	if !Known(h.Type) {
		return h, nil, &HeaderError{Header: h, Code: HeaderNACKUnknownPayloadType}
	}
	if !ValidLength(h.Type, h.Length) {
		return h, nil, &HeaderError{Header: h, Code: HeaderNACKInvalidPayloadLength}
	}
	payload := b[HeaderLen:]
	if uint64(len(payload)) < uint64(h.Length) {
		return h, nil, fmt.Errorf("doip: decode %v: %d of %d payload bytes: %w", h.Type, len(payload), h.Length, ErrTruncated)
	}
	if uint64(len(payload)) > uint64(h.Length) {
		return h, nil, &HeaderError{Header: h, Code: HeaderNACKInvalidPayloadLength}
	}
	m, err := decodePayload(h.Type, payload)
	return h, m, err
}

// decodePayload decodes a payload of a known type.
func decodePayload(t PayloadType, p []byte) (Message, error) {
	dec, ok := decoders[t]
	if !ok {
		return nil, fmt.Errorf("doip: decode %v: %w", t, HeaderNACKUnknownPayloadType)
	}
	return dec(p)
}

var decoders = map[PayloadType]func([]byte) (Message, error){
	TypeGenericNACK:                     decodeAs[GenericNACK],
	TypeVehicleIdentificationRequest:    decodeAs[VehicleIdentificationRequest],
	TypeVehicleIdentificationRequestEID: decodeAs[VehicleIdentificationRequestEID],
	TypeVehicleIdentificationRequestVIN: decodeAs[VehicleIdentificationRequestVIN],
	TypeVehicleAnnouncement:             decodeAs[VehicleAnnouncement],
	TypeRoutingActivationRequest:        decodeAs[RoutingActivationRequest],
	TypeRoutingActivationResponse:       decodeAs[RoutingActivationResponse],
	TypeAliveCheckRequest:               decodeAs[AliveCheckRequest],
	TypeAliveCheckResponse:              decodeAs[AliveCheckResponse],
	TypeEntityStatusRequest:             decodeAs[EntityStatusRequest],
	TypeEntityStatusResponse:            decodeAs[EntityStatusResponse],
	TypePowerModeRequest:                decodeAs[PowerModeRequest],
	TypePowerModeResponse:               decodeAs[PowerModeResponse],
	TypeDiagnosticMessage:               decodeAs[DiagnosticMessage],
	TypeDiagnosticACK:                   decodeAs[DiagnosticACK],
	TypeDiagnosticNACK:                  decodeAs[DiagnosticNACK],
}

// decodeAs decodes p into a value of type T.
func decodeAs[T Message, P interface {
	*T
	encoding.BinaryUnmarshaler
}](p []byte) (Message, error) {
	var v T
	if err := P(&v).UnmarshalBinary(p); err != nil {
		return nil, err
	}
	return v, nil
}
