package uds

import "fmt"

// RoutineControlType is the sub-function of RoutineControl (0x31).
type RoutineControlType byte

// Routine control types defined by ISO 14229-1.
const (
	StartRoutine          RoutineControlType = 0x01
	StopRoutine           RoutineControlType = 0x02
	RequestRoutineResults RoutineControlType = 0x03
)

// String returns the ISO 14229-1 name, such as "startRoutine".
func (t RoutineControlType) String() string {
	switch t {
	case StartRoutine:
		return "startRoutine"
	case StopRoutine:
		return "stopRoutine"
	case RequestRoutineResults:
		return "requestRoutineResults"
	}
	return fmt.Sprintf("RoutineControlType(0x%02X)", byte(t))
}

// RoutineControlRequest is 31 <control type> <routine id: 2 bytes>
// [<option record>].
type RoutineControlRequest struct {
	Type                     RoutineControlType
	RoutineID                uint16
	Option                   []byte
	SuppressPositiveResponse bool
}

// Service returns SIDRoutineControl.
func (RoutineControlRequest) Service() SID { return SIDRoutineControl }

// MarshalBinary encodes the request.
func (r RoutineControlRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDRoutineControl, false, 4+len(r.Option))
	e.subFunction(byte(r.Type), r.SuppressPositiveResponse)
	e.uint16(r.RoutineID)
	e.bytes(r.Option)
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *RoutineControlRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDRoutineControl, false)
	v, spr := d.subFunction()
	id := d.uint16("routine identifier")
	opt := d.rest()
	if err := d.finish(); err != nil {
		return err
	}
	*r = RoutineControlRequest{Type: RoutineControlType(v), RoutineID: id, Option: opt, SuppressPositiveResponse: spr}
	return nil
}

// RoutineControlResponse is 71 <control type> <routine id: 2 bytes>
// [<routine info> <status record>].
type RoutineControlResponse struct {
	Type      RoutineControlType
	RoutineID uint16
	// Status holds the bytes after the routine identifier as sent: the
	// routineInfo byte (ISO 14229-1:2013 and later) and the
	// routineStatusRecord.
	Status []byte
}

// Service returns SIDRoutineControl.
func (RoutineControlResponse) Service() SID { return SIDRoutineControl }

// MarshalBinary encodes the response.
func (r RoutineControlResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDRoutineControl, true, 4+len(r.Status))
	e.echo(byte(r.Type))
	e.uint16(r.RoutineID)
	e.bytes(r.Status)
	return e.result()
}

// UnmarshalBinary decodes the response.
func (r *RoutineControlResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDRoutineControl, true)
	v := d.echo()
	id := d.uint16("routine identifier")
	st := d.rest()
	if err := d.finish(); err != nil {
		return err
	}
	*r = RoutineControlResponse{Type: RoutineControlType(v), RoutineID: id, Status: st}
	return nil
}
