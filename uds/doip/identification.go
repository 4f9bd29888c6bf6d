package doip

import (
	"encoding/binary"
	"fmt"
)

// VIN is a vehicle identification number: 17 ASCII characters.
type VIN [17]byte

// ParseVIN returns s as a VIN. s must be 17 bytes long.
func ParseVIN(s string) (VIN, error) {
	var v VIN
	if len(s) != len(v) {
		return v, fmt.Errorf("doip: parse VIN %q: %d bytes, want 17", s, len(s))
	}
	copy(v[:], s)
	return v, nil
}

// String returns the VIN's characters.
func (v VIN) String() string { return string(v[:]) }

// EID is an entity identification, usually the entity's MAC address.
type EID [6]byte

// String formats the EID like a MAC address: "00:1a:2b:3c:4d:5e".
func (e EID) String() string { return hexColon(e[:]) }

// GID is a group identification shared by the entities of one vehicle.
type GID [6]byte

// String formats the GID like a MAC address.
func (g GID) String() string { return hexColon(g[:]) }

func hexColon(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			s = append(s, ':')
		}
		s = append(s, digits[c>>4], digits[c&0xF])
	}
	return string(s)
}

// FurtherAction tells a tester in a vehicle announcement what else it must do.
type FurtherAction uint8

// Further action codes.
const (
	NoFurtherAction              FurtherAction = 0x00
	FurtherActionCentralSecurity FurtherAction = 0x10 // routing activation required for central security
)

// SyncStatus tells whether the VIN and GID are synchronised among the
// entities of the vehicle.
type SyncStatus uint8

// VIN/GID synchronisation status values.
const (
	Synchronized    SyncStatus = 0x00
	NotSynchronized SyncStatus = 0x10
)

// VehicleIdentificationRequest (0x0001) asks every entity to answer with a
// VehicleAnnouncement. It is sent over UDP, usually with VersionDefault.
type VehicleIdentificationRequest struct{}

// PayloadType returns TypeVehicleIdentificationRequest.
func (VehicleIdentificationRequest) PayloadType() PayloadType {
	return TypeVehicleIdentificationRequest
}

// AppendBinary appends the (empty) payload to b.
func (VehicleIdentificationRequest) AppendBinary(b []byte) ([]byte, error) { return b, nil }

// MarshalBinary returns the (empty) payload.
func (m VehicleIdentificationRequest) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary checks that b is empty.
func (m *VehicleIdentificationRequest) UnmarshalBinary(b []byte) error {
	return checkLength(m.PayloadType(), b)
}

// VehicleIdentificationRequestEID (0x0002) asks the entity with this EID to
// answer.
type VehicleIdentificationRequestEID struct {
	EID EID
}

// PayloadType returns TypeVehicleIdentificationRequestEID.
func (VehicleIdentificationRequestEID) PayloadType() PayloadType {
	return TypeVehicleIdentificationRequestEID
}

// AppendBinary appends the payload to b.
func (m VehicleIdentificationRequestEID) AppendBinary(b []byte) ([]byte, error) {
	return append(b, m.EID[:]...), nil
}

// MarshalBinary returns the payload.
func (m VehicleIdentificationRequestEID) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 6-byte payload.
func (m *VehicleIdentificationRequestEID) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	copy(m.EID[:], b)
	return nil
}

// VehicleIdentificationRequestVIN (0x0003) asks the entities of the vehicle
// with this VIN to answer.
type VehicleIdentificationRequestVIN struct {
	VIN VIN
}

// PayloadType returns TypeVehicleIdentificationRequestVIN.
func (VehicleIdentificationRequestVIN) PayloadType() PayloadType {
	return TypeVehicleIdentificationRequestVIN
}

// AppendBinary appends the payload to b.
func (m VehicleIdentificationRequestVIN) AppendBinary(b []byte) ([]byte, error) {
	return append(b, m.VIN[:]...), nil
}

// MarshalBinary returns the payload.
func (m VehicleIdentificationRequestVIN) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 17-byte payload.
func (m *VehicleIdentificationRequestVIN) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	copy(m.VIN[:], b)
	return nil
}

// VehicleAnnouncement (0x0004) is both the announcement an entity sends
// after start-up and its answer to a vehicle identification request.
// SyncStatus is on the wire only when HasSyncStatus is set (33 bytes
// instead of 32).
type VehicleAnnouncement struct {
	VIN            VIN
	LogicalAddress uint16
	EID            EID
	GID            GID
	FurtherAction  FurtherAction
	SyncStatus     SyncStatus
	HasSyncStatus  bool
}

// PayloadType returns TypeVehicleAnnouncement.
func (VehicleAnnouncement) PayloadType() PayloadType { return TypeVehicleAnnouncement }

// AppendBinary appends the payload to b.
func (m VehicleAnnouncement) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, m.VIN[:]...)
	b = binary.BigEndian.AppendUint16(b, m.LogicalAddress)
	b = append(b, m.EID[:]...)
	b = append(b, m.GID[:]...)
	b = append(b, byte(m.FurtherAction))
	if m.HasSyncStatus {
		b = append(b, byte(m.SyncStatus))
	}
	return b, nil
}

// MarshalBinary returns the payload.
func (m VehicleAnnouncement) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes a 32- or 33-byte payload.
func (m *VehicleAnnouncement) UnmarshalBinary(b []byte) error {
	if err := checkLength(m.PayloadType(), b); err != nil {
		return err
	}
	*m = VehicleAnnouncement{}
	copy(m.VIN[:], b[0:17])
	m.LogicalAddress = binary.BigEndian.Uint16(b[17:19])
	copy(m.EID[:], b[19:25])
	copy(m.GID[:], b[25:31])
	m.FurtherAction = FurtherAction(b[31])
	if len(b) == 33 {
		m.SyncStatus, m.HasSyncStatus = SyncStatus(b[32]), true
	}
	return nil
}
