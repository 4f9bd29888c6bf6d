package uds

import (
	"fmt"
	"time"
)

// SessionType is the sub-function of DiagnosticSessionControl (0x10).
type SessionType byte

// Diagnostic sessions defined by ISO 14229-1.
const (
	DefaultSession                SessionType = 0x01
	ProgrammingSession            SessionType = 0x02
	ExtendedDiagnosticSession     SessionType = 0x03
	SafetySystemDiagnosticSession SessionType = 0x04
)

// String returns the ISO 14229-1 name, such as "extendedDiagnosticSession".
func (s SessionType) String() string {
	switch s {
	case DefaultSession:
		return "defaultSession"
	case ProgrammingSession:
		return "programmingSession"
	case ExtendedDiagnosticSession:
		return "extendedDiagnosticSession"
	case SafetySystemDiagnosticSession:
		return "safetySystemDiagnosticSession"
	}
	return fmt.Sprintf("SessionType(0x%02X)", byte(s))
}

// DiagnosticSessionControlRequest is 10 <session>.
type DiagnosticSessionControlRequest struct {
	Session                  SessionType
	SuppressPositiveResponse bool
}

// Service returns SIDDiagnosticSessionControl.
func (DiagnosticSessionControlRequest) Service() SID { return SIDDiagnosticSessionControl }

// MarshalBinary encodes the request.
func (r DiagnosticSessionControlRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDDiagnosticSessionControl, false, 2)
	e.subFunction(byte(r.Session), r.SuppressPositiveResponse)
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *DiagnosticSessionControlRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDDiagnosticSessionControl, false)
	v, spr := d.subFunction()
	if err := d.finish(); err != nil {
		return err
	}
	*r = DiagnosticSessionControlRequest{Session: SessionType(v), SuppressPositiveResponse: spr}
	return nil
}

// Resolution and range of the session timing parameters.
const (
	p2Unit     = time.Millisecond
	p2StarUnit = 10 * time.Millisecond
	maxP2      = 0xFFFF * p2Unit
	maxP2Star  = 0xFFFF * p2StarUnit
)

// DiagnosticSessionControlResponse is 50 <session> <P2 ms: 2 bytes>
// <P2* in 10 ms: 2 bytes>: the session entered and the server's timing in
// it. Durations are encoded rounded down to their resolution (1 ms for P2,
// 10 ms for P2*); beyond 65535 units they give ErrInvalidValue.
type DiagnosticSessionControlResponse struct {
	Session SessionType
	// P2 is P2server_max: the longest the server takes to start its response.
	P2 time.Duration
	// P2Star is P2*server_max: the longest it takes after a response pending.
	P2Star time.Duration
}

// Service returns SIDDiagnosticSessionControl.
func (DiagnosticSessionControlResponse) Service() SID { return SIDDiagnosticSessionControl }

// MarshalBinary encodes the response.
func (r DiagnosticSessionControlResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDDiagnosticSessionControl, true, 6)
	e.echo(byte(r.Session))
	if r.P2 < 0 || r.P2 > maxP2 {
		e.fail(fmt.Sprintf("P2 %v outside 0..%v", r.P2, maxP2))
	}
	if r.P2Star < 0 || r.P2Star > maxP2Star {
		e.fail(fmt.Sprintf("P2* %v outside 0..%v", r.P2Star, maxP2Star))
	}
	e.uint16(uint16(r.P2 / p2Unit))
	e.uint16(uint16(r.P2Star / p2StarUnit))
	return e.result()
}

// UnmarshalBinary decodes the response, which must carry the four bytes of
// timing parameters (ISO 14229-1:2013 and later).
func (r *DiagnosticSessionControlResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDDiagnosticSessionControl, true)
	s := d.echo()
	p2 := d.uint16("P2")
	p2Star := d.uint16("P2*")
	if err := d.finish(); err != nil {
		return err
	}
	*r = DiagnosticSessionControlResponse{
		Session: SessionType(s),
		P2:      time.Duration(p2) * p2Unit,
		P2Star:  time.Duration(p2Star) * p2StarUnit,
	}
	return nil
}

// ResetType is the sub-function of ECUReset (0x11).
type ResetType byte

// Reset types defined by ISO 14229-1.
const (
	HardReset                 ResetType = 0x01
	KeyOffOnReset             ResetType = 0x02
	SoftReset                 ResetType = 0x03
	EnableRapidPowerShutDown  ResetType = 0x04
	DisableRapidPowerShutDown ResetType = 0x05
)

// String returns the ISO 14229-1 name, such as "hardReset".
func (t ResetType) String() string {
	switch t {
	case HardReset:
		return "hardReset"
	case KeyOffOnReset:
		return "keyOffOnReset"
	case SoftReset:
		return "softReset"
	case EnableRapidPowerShutDown:
		return "enableRapidPowerShutDown"
	case DisableRapidPowerShutDown:
		return "disableRapidPowerShutDown"
	}
	return fmt.Sprintf("ResetType(0x%02X)", byte(t))
}

// ECUResetRequest is 11 <reset type>.
type ECUResetRequest struct {
	Type                     ResetType
	SuppressPositiveResponse bool
}

// Service returns SIDECUReset.
func (ECUResetRequest) Service() SID { return SIDECUReset }

// MarshalBinary encodes the request.
func (r ECUResetRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDECUReset, false, 2)
	e.subFunction(byte(r.Type), r.SuppressPositiveResponse)
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *ECUResetRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDECUReset, false)
	v, spr := d.subFunction()
	if err := d.finish(); err != nil {
		return err
	}
	*r = ECUResetRequest{Type: ResetType(v), SuppressPositiveResponse: spr}
	return nil
}

// ECUResetResponse is 51 <reset type>, followed by <powerDownTime> when the
// type is EnableRapidPowerShutDown.
type ECUResetResponse struct {
	Type ResetType
	// PowerDownTime is the minimum time in seconds the server stays in
	// power-down (0xFF: not available). It is present only for
	// EnableRapidPowerShutDown and must be zero otherwise.
	PowerDownTime byte
}

// Service returns SIDECUReset.
func (ECUResetResponse) Service() SID { return SIDECUReset }

// MarshalBinary encodes the response.
func (r ECUResetResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDECUReset, true, 3)
	e.echo(byte(r.Type))
	switch {
	case r.Type == EnableRapidPowerShutDown:
		e.uint8(r.PowerDownTime)
	case r.PowerDownTime != 0:
		e.fail(fmt.Sprintf("power down time with reset type %s", r.Type))
	}
	return e.result()
}

// UnmarshalBinary decodes the response.
func (r *ECUResetResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDECUReset, true)
	t := ResetType(d.echo())
	var pdt byte
	if t == EnableRapidPowerShutDown {
		pdt = d.uint8("power down time")
	}
	if err := d.finish(); err != nil {
		return err
	}
	*r = ECUResetResponse{Type: t, PowerDownTime: pdt}
	return nil
}

// TesterPresentRequest is 3E 00, or 3E 80 to suppress the positive
// response. The only sub-function ISO 14229-1 defines is zeroSubFunction.
type TesterPresentRequest struct {
	SuppressPositiveResponse bool
}

// Service returns SIDTesterPresent.
func (TesterPresentRequest) Service() SID { return SIDTesterPresent }

// MarshalBinary encodes the request.
func (r TesterPresentRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDTesterPresent, false, 2)
	e.subFunction(0, r.SuppressPositiveResponse)
	return e.result()
}

// UnmarshalBinary decodes the request; a sub-function other than
// zeroSubFunction gives ErrInvalidValue.
func (r *TesterPresentRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDTesterPresent, false)
	v, spr := d.subFunction()
	if v != 0 {
		d.fail(ErrInvalidValue, fmt.Sprintf("sub-function 0x%02X, want zeroSubFunction", v))
	}
	if err := d.finish(); err != nil {
		return err
	}
	*r = TesterPresentRequest{SuppressPositiveResponse: spr}
	return nil
}

// TesterPresentResponse is 7E 00.
type TesterPresentResponse struct{}

// Service returns SIDTesterPresent.
func (TesterPresentResponse) Service() SID { return SIDTesterPresent }

// MarshalBinary encodes the response.
func (TesterPresentResponse) MarshalBinary() ([]byte, error) {
	return []byte{SIDTesterPresent.Response(), 0x00}, nil
}

// UnmarshalBinary decodes the response.
func (r *TesterPresentResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDTesterPresent, true)
	if v := d.echo(); v != 0 {
		d.fail(ErrInvalidValue, fmt.Sprintf("sub-function 0x%02X, want zeroSubFunction", v))
	}
	return d.finish()
}
