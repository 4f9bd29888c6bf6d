package uds

import "fmt"

// SecurityAccessRequest is 27 <level> <data>. An odd Level (0x01, 0x03,
// ...) is requestSeed, with an optional securityAccessDataRecord in Data;
// the even Level after it (0x02, 0x04, ...) is sendKey, with the key in
// Data. Levels 0x00, 0x43–0x5E and 0x7F are reserved and give
// ErrInvalidValue.
type SecurityAccessRequest struct {
	Level                    byte
	Data                     []byte
	SuppressPositiveResponse bool
}

// IsRequestSeed reports whether the request asks for a seed (odd level).
func (r SecurityAccessRequest) IsRequestSeed() bool { return r.Level%2 == 1 }

// Service returns SIDSecurityAccess.
func (SecurityAccessRequest) Service() SID { return SIDSecurityAccess }

// MarshalBinary encodes the request.
func (r SecurityAccessRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDSecurityAccess, false, 2+len(r.Data))
	checkSecurityLevel(r.Level, e.fail)
	e.subFunction(r.Level, r.SuppressPositiveResponse)
	e.bytes(r.Data)
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *SecurityAccessRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDSecurityAccess, false)
	level, spr := d.subFunction()
	if d.err == nil {
		checkSecurityLevel(level, func(s string) { d.fail(ErrInvalidValue, s) })
	}
	data := d.rest()
	if err := d.finish(); err != nil {
		return err
	}
	*r = SecurityAccessRequest{Level: level, Data: data, SuppressPositiveResponse: spr}
	return nil
}

// SecurityAccessResponse is 67 <level> <seed>. The response to sendKey
// carries no seed. A seed of all zero bytes means the level is already
// unlocked.
type SecurityAccessResponse struct {
	Level byte
	Seed  []byte
}

// Service returns SIDSecurityAccess.
func (SecurityAccessResponse) Service() SID { return SIDSecurityAccess }

// MarshalBinary encodes the response.
func (r SecurityAccessResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDSecurityAccess, true, 2+len(r.Seed))
	checkSecurityLevel(r.Level, e.fail)
	e.echo(r.Level)
	e.bytes(r.Seed)
	return e.result()
}

// UnmarshalBinary decodes the response.
func (r *SecurityAccessResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDSecurityAccess, true)
	level := d.echo()
	if d.err == nil {
		checkSecurityLevel(level, func(s string) { d.fail(ErrInvalidValue, s) })
	}
	seed := d.rest()
	if err := d.finish(); err != nil {
		return err
	}
	*r = SecurityAccessResponse{Level: level, Seed: seed}
	return nil
}

// checkSecurityLevel refuses the levels ISO 14229-1 (10.4.2.2, Table 42)
// reserves: 0x00, 0x43–0x5E and 0x7F (0x5F/0x60 are ISO 26021-2's,
// 0x61–0x7E the system supplier's).
func checkSecurityLevel(level byte, fail func(string)) {
	if level == 0x00 || level == 0x7F || level >= 0x43 && level <= 0x5E {
		fail(fmt.Sprintf("reserved security access level 0x%02X (ISO 14229-1 Table 42)", level))
	}
}
