package uds

import "fmt"

// SID is a UDS service identifier: the first byte of a request. A positive
// response starts with the SID plus 0x40 (see SID.Response); a negative
// response starts with NegativeResponseSID.
type SID byte

// Service identifiers defined by ISO 14229-1.
const (
	SIDDiagnosticSessionControl        SID = 0x10
	SIDECUReset                        SID = 0x11
	SIDClearDiagnosticInformation      SID = 0x14
	SIDReadDTCInformation              SID = 0x19
	SIDReadDataByIdentifier            SID = 0x22
	SIDReadMemoryByAddress             SID = 0x23
	SIDReadScalingDataByIdentifier     SID = 0x24
	SIDSecurityAccess                  SID = 0x27
	SIDCommunicationControl            SID = 0x28
	SIDAuthentication                  SID = 0x29
	SIDReadDataByPeriodicIdentifier    SID = 0x2A
	SIDDynamicallyDefineDataIdentifier SID = 0x2C
	SIDWriteDataByIdentifier           SID = 0x2E
	SIDInputOutputControlByIdentifier  SID = 0x2F
	SIDRoutineControl                  SID = 0x31
	SIDRequestDownload                 SID = 0x34
	SIDRequestUpload                   SID = 0x35
	SIDTransferData                    SID = 0x36
	SIDRequestTransferExit             SID = 0x37
	SIDRequestFileTransfer             SID = 0x38
	SIDWriteMemoryByAddress            SID = 0x3D
	SIDTesterPresent                   SID = 0x3E
	SIDAccessTimingParameter           SID = 0x83
	SIDSecuredDataTransmission         SID = 0x84
	SIDControlDTCSetting               SID = 0x85
	SIDResponseOnEvent                 SID = 0x86
	SIDLinkControl                     SID = 0x87
)

// NegativeResponseSID is the first byte of a negative response
// (7F <sid> <nrc>).
const NegativeResponseSID = 0x7F

// positiveResponseOffset is added to a SID to form its positive response SID.
const positiveResponseOffset = 0x40

// suppressBit is the suppressPosRspMsgIndicationBit of a sub-function byte.
const suppressBit = 0x80

var sidNames = map[SID]string{
	SIDDiagnosticSessionControl:        "DiagnosticSessionControl",
	SIDECUReset:                        "ECUReset",
	SIDClearDiagnosticInformation:      "ClearDiagnosticInformation",
	SIDReadDTCInformation:              "ReadDTCInformation",
	SIDReadDataByIdentifier:            "ReadDataByIdentifier",
	SIDReadMemoryByAddress:             "ReadMemoryByAddress",
	SIDReadScalingDataByIdentifier:     "ReadScalingDataByIdentifier",
	SIDSecurityAccess:                  "SecurityAccess",
	SIDCommunicationControl:            "CommunicationControl",
	SIDAuthentication:                  "Authentication",
	SIDReadDataByPeriodicIdentifier:    "ReadDataByPeriodicIdentifier",
	SIDDynamicallyDefineDataIdentifier: "DynamicallyDefineDataIdentifier",
	SIDWriteDataByIdentifier:           "WriteDataByIdentifier",
	SIDInputOutputControlByIdentifier:  "InputOutputControlByIdentifier",
	SIDRoutineControl:                  "RoutineControl",
	SIDRequestDownload:                 "RequestDownload",
	SIDRequestUpload:                   "RequestUpload",
	SIDTransferData:                    "TransferData",
	SIDRequestTransferExit:             "RequestTransferExit",
	SIDRequestFileTransfer:             "RequestFileTransfer",
	SIDWriteMemoryByAddress:            "WriteMemoryByAddress",
	SIDTesterPresent:                   "TesterPresent",
	SIDAccessTimingParameter:           "AccessTimingParameter",
	SIDSecuredDataTransmission:         "SecuredDataTransmission",
	SIDControlDTCSetting:               "ControlDTCSetting",
	SIDResponseOnEvent:                 "ResponseOnEvent",
	SIDLinkControl:                     "LinkControl",
}

// String returns the ISO 14229-1 name of the service, such as
// "ReadDataByIdentifier", or "SID(0xBA)" for an identifier it does not
// define.
func (s SID) String() string {
	if name, ok := sidNames[s]; ok {
		return name
	}
	return fmt.Sprintf("SID(0x%02X)", byte(s))
}

// Response returns the first byte of the service's positive response:
// the SID plus 0x40.
func (s SID) Response() byte { return byte(s) + positiveResponseOffset }

// HasSubFunction reports whether requests of the service carry a
// sub-function byte after the SID, whose bit 7 is the
// suppressPosRspMsgIndicationBit.
func (s SID) HasSubFunction() bool {
	switch s {
	case SIDDiagnosticSessionControl, SIDECUReset, SIDReadDTCInformation,
		SIDSecurityAccess, SIDCommunicationControl, SIDAuthentication,
		SIDDynamicallyDefineDataIdentifier, SIDRoutineControl, SIDTesterPresent,
		SIDAccessTimingParameter, SIDControlDTCSetting, SIDResponseOnEvent,
		SIDLinkControl:
		return true
	}
	return false
}

// SuppressesPositiveResponse reports whether the encoded request asks the
// server not to send a positive response: its service has a sub-function
// and bit 7 of the sub-function byte is set.
func SuppressesPositiveResponse(req []byte) bool {
	return len(req) >= 2 && SID(req[0]).HasSubFunction() && req[1]&suppressBit != 0
}
