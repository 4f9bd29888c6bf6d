package uds

import "fmt"

// DTC is a 3-byte diagnostic trouble code number.
type DTC uint32

// String returns the DTC as six hex digits, such as "0x012345".
func (d DTC) String() string { return fmt.Sprintf("0x%06X", uint32(d)) }

// GroupAllDTCs is the ClearDiagnosticInformation group that selects every
// DTC.
const GroupAllDTCs DTC = 0xFFFFFF

// DTCStatus is the status byte of a DTC, or a mask of its bits.
type DTCStatus byte

// DTC status bits defined by ISO 14229-1 (Annex D).
const (
	DTCTestFailed                         DTCStatus = 0x01
	DTCTestFailedThisOperationCycle       DTCStatus = 0x02
	DTCPending                            DTCStatus = 0x04
	DTCConfirmed                          DTCStatus = 0x08
	DTCTestNotCompletedSinceLastClear     DTCStatus = 0x10
	DTCTestFailedSinceLastClear           DTCStatus = 0x20
	DTCTestNotCompletedThisOperationCycle DTCStatus = 0x40
	DTCWarningIndicatorRequested          DTCStatus = 0x80
)

// DTCFormat is the DTCFormatIdentifier of a ReadDTCInformation response.
type DTCFormat byte

// DTC formats defined by ISO 14229-1.
const (
	DTCFormatSAEJ2012DA00 DTCFormat = 0x00 // SAE J2012-DA format 00 (ISO 15031-6)
	DTCFormatISO14229     DTCFormat = 0x01 // ISO 14229-1 format
	DTCFormatSAEJ1939     DTCFormat = 0x02 // SAE J1939-73 format
	DTCFormatISO11992     DTCFormat = 0x03 // ISO 11992-4 format
	DTCFormatSAEJ2012DA04 DTCFormat = 0x04 // SAE J2012-DA WWH-OBD format 04
)

// ClearDiagnosticInformationRequest is 14 <group of DTC: 3 bytes>.
type ClearDiagnosticInformationRequest struct {
	// Group selects the DTCs to clear; GroupAllDTCs clears all.
	Group DTC
}

// Service returns SIDClearDiagnosticInformation.
func (ClearDiagnosticInformationRequest) Service() SID { return SIDClearDiagnosticInformation }

// MarshalBinary encodes the request.
func (r ClearDiagnosticInformationRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDClearDiagnosticInformation, false, 4)
	e.uint24(uint32(r.Group), "group of DTC")
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *ClearDiagnosticInformationRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDClearDiagnosticInformation, false)
	g := d.uint24("group of DTC")
	if err := d.finish(); err != nil {
		return err
	}
	r.Group = DTC(g)
	return nil
}

// ClearDiagnosticInformationResponse is 54.
type ClearDiagnosticInformationResponse struct{}

// Service returns SIDClearDiagnosticInformation.
func (ClearDiagnosticInformationResponse) Service() SID { return SIDClearDiagnosticInformation }

// MarshalBinary encodes the response.
func (ClearDiagnosticInformationResponse) MarshalBinary() ([]byte, error) {
	return []byte{SIDClearDiagnosticInformation.Response()}, nil
}

// UnmarshalBinary decodes the response.
func (*ClearDiagnosticInformationResponse) UnmarshalBinary(b []byte) error {
	return newDecoder(b, SIDClearDiagnosticInformation, true).finish()
}

// DTCReportType is the sub-function of ReadDTCInformation (0x19).
type DTCReportType byte

// Report types this package encodes. Others exist in ISO 14229-1; send
// them with Client.Do.
const (
	ReportNumberOfDTCByStatusMask DTCReportType = 0x01
	ReportDTCByStatusMask         DTCReportType = 0x02
	ReportSupportedDTC            DTCReportType = 0x0A
)

// String returns the ISO 14229-1 name, such as "reportDTCByStatusMask".
func (t DTCReportType) String() string {
	switch t {
	case ReportNumberOfDTCByStatusMask:
		return "reportNumberOfDTCByStatusMask"
	case ReportDTCByStatusMask:
		return "reportDTCByStatusMask"
	case ReportSupportedDTC:
		return "reportSupportedDTC"
	}
	return fmt.Sprintf("DTCReportType(0x%02X)", byte(t))
}

// hasStatusMask reports whether requests of the report type carry a
// DTCStatusMask.
func (t DTCReportType) hasStatusMask() bool {
	return t == ReportNumberOfDTCByStatusMask || t == ReportDTCByStatusMask
}

// ReadDTCInformationRequest is 19 <report type> [<DTC status mask>]: the
// mask is present for ReportNumberOfDTCByStatusMask and
// ReportDTCByStatusMask, absent for ReportSupportedDTC. Other report types
// give ErrUnsupported.
type ReadDTCInformationRequest struct {
	Report DTCReportType
	// StatusMask selects DTCs whose status has any of its bits set; it
	// must be zero for report types without one.
	StatusMask               DTCStatus
	SuppressPositiveResponse bool
}

// Service returns SIDReadDTCInformation.
func (ReadDTCInformationRequest) Service() SID { return SIDReadDTCInformation }

// MarshalBinary encodes the request.
func (r ReadDTCInformationRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDReadDTCInformation, false, 3)
	e.subFunction(byte(r.Report), r.SuppressPositiveResponse)
	switch {
	case r.Report.hasStatusMask():
		e.uint8(byte(r.StatusMask))
	case r.Report == ReportSupportedDTC:
		if r.StatusMask != 0 {
			e.fail(fmt.Sprintf("status mask with report type %s", r.Report))
		}
	default:
		if e.err == nil {
			e.err = fmt.Errorf("encode %s request: report type 0x%02X: %w", SIDReadDTCInformation, byte(r.Report), ErrUnsupported)
		}
	}
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *ReadDTCInformationRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDReadDTCInformation, false)
	v, spr := d.subFunction()
	t := DTCReportType(v)
	var mask byte
	switch {
	case d.err != nil:
	case t.hasStatusMask():
		mask = d.uint8("DTC status mask")
	case t != ReportSupportedDTC:
		d.fail(ErrUnsupported, fmt.Sprintf("report type 0x%02X", v))
	}
	if err := d.finish(); err != nil {
		return err
	}
	*r = ReadDTCInformationRequest{Report: t, StatusMask: DTCStatus(mask), SuppressPositiveResponse: spr}
	return nil
}

// DTCCountResponse is the response to ReportNumberOfDTCByStatusMask:
// 59 01 <availability mask> <format> <count: 2 bytes>.
type DTCCountResponse struct {
	Report DTCReportType
	// AvailabilityMask holds the status bits the server supports.
	AvailabilityMask DTCStatus
	Format           DTCFormat
	Count            uint16
}

// Service returns SIDReadDTCInformation.
func (DTCCountResponse) Service() SID { return SIDReadDTCInformation }

// MarshalBinary encodes the response.
func (r DTCCountResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDReadDTCInformation, true, 6)
	e.echo(byte(r.Report))
	e.uint8(byte(r.AvailabilityMask))
	e.uint8(byte(r.Format))
	e.uint16(r.Count)
	return e.result()
}

// UnmarshalBinary decodes the response; it accepts any report type, the
// caller having chosen this layout.
func (r *DTCCountResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDReadDTCInformation, true)
	t := d.echo()
	mask := d.uint8("DTC status availability mask")
	format := d.uint8("DTC format identifier")
	count := d.uint16("DTC count")
	if err := d.finish(); err != nil {
		return err
	}
	*r = DTCCountResponse{Report: DTCReportType(t), AvailabilityMask: DTCStatus(mask), Format: DTCFormat(format), Count: count}
	return nil
}

// DTCRecord is a DTC and its status.
type DTCRecord struct {
	DTC    DTC
	Status DTCStatus
}

// DTCListResponse is the response to ReportDTCByStatusMask and
// ReportSupportedDTC: 59 <report type> <availability mask>, then
// <DTC: 3 bytes> <status> for each DTC.
type DTCListResponse struct {
	Report           DTCReportType
	AvailabilityMask DTCStatus
	DTCs             []DTCRecord
}

// Service returns SIDReadDTCInformation.
func (DTCListResponse) Service() SID { return SIDReadDTCInformation }

// MarshalBinary encodes the response.
func (r DTCListResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDReadDTCInformation, true, 3+4*len(r.DTCs))
	e.echo(byte(r.Report))
	e.uint8(byte(r.AvailabilityMask))
	for _, rec := range r.DTCs {
		e.uint24(uint32(rec.DTC), "DTC")
		e.uint8(byte(rec.Status))
	}
	return e.result()
}

// UnmarshalBinary decodes the response; it accepts any report type, the
// caller having chosen this layout.
func (r *DTCListResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDReadDTCInformation, true)
	t := d.echo()
	mask := d.uint8("DTC status availability mask")
	var recs []DTCRecord
	if d.err == nil && len(d.b) > 0 {
		recs = make([]DTCRecord, 0, len(d.b)/4)
	}
	for d.err == nil && len(d.b) > 0 {
		dtc := d.uint24("DTC")
		st := d.uint8("DTC status")
		recs = append(recs, DTCRecord{DTC: DTC(dtc), Status: DTCStatus(st)})
	}
	if err := d.finish(); err != nil {
		return err
	}
	*r = DTCListResponse{Report: DTCReportType(t), AvailabilityMask: DTCStatus(mask), DTCs: recs}
	return nil
}

// DTCSettingType is the sub-function of ControlDTCSetting (0x85).
type DTCSettingType byte

// DTC setting types defined by ISO 14229-1.
const (
	DTCSettingOn  DTCSettingType = 0x01
	DTCSettingOff DTCSettingType = 0x02
)

// String returns the ISO 14229-1 name, "on" or "off".
func (t DTCSettingType) String() string {
	switch t {
	case DTCSettingOn:
		return "on"
	case DTCSettingOff:
		return "off"
	}
	return fmt.Sprintf("DTCSettingType(0x%02X)", byte(t))
}

// ControlDTCSettingRequest is 85 <setting type> [<option record>].
type ControlDTCSettingRequest struct {
	Type DTCSettingType
	// Option is the DTCSettingControlOptionRecord, often a DTC group.
	Option                   []byte
	SuppressPositiveResponse bool
}

// Service returns SIDControlDTCSetting.
func (ControlDTCSettingRequest) Service() SID { return SIDControlDTCSetting }

// MarshalBinary encodes the request.
func (r ControlDTCSettingRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDControlDTCSetting, false, 2+len(r.Option))
	e.subFunction(byte(r.Type), r.SuppressPositiveResponse)
	e.bytes(r.Option)
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *ControlDTCSettingRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDControlDTCSetting, false)
	v, spr := d.subFunction()
	opt := d.rest()
	if err := d.finish(); err != nil {
		return err
	}
	*r = ControlDTCSettingRequest{Type: DTCSettingType(v), Option: opt, SuppressPositiveResponse: spr}
	return nil
}

// ControlDTCSettingResponse is C5 <setting type>.
type ControlDTCSettingResponse struct {
	Type DTCSettingType
}

// Service returns SIDControlDTCSetting.
func (ControlDTCSettingResponse) Service() SID { return SIDControlDTCSetting }

// MarshalBinary encodes the response.
func (r ControlDTCSettingResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDControlDTCSetting, true, 2)
	e.echo(byte(r.Type))
	return e.result()
}

// UnmarshalBinary decodes the response.
func (r *ControlDTCSettingResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDControlDTCSetting, true)
	v := d.echo()
	if err := d.finish(); err != nil {
		return err
	}
	r.Type = DTCSettingType(v)
	return nil
}
