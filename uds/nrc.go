package uds

import "fmt"

// NRC is a negative response code: the last byte of a negative response
// 7F <sid> <nrc>. Its names follow ISO 14229-1 Table A.1.
//
// NRC implements error so that a Server handler can refuse a request by
// returning one:
//
//	return nil, uds.NRCRequestOutOfRange
type NRC byte

// Negative response codes defined by ISO 14229-1 (Table A.1, 2020 edition).
// Codes not listed are reserved; String names their range.
const (
	NRCGeneralReject                             NRC = 0x10
	NRCServiceNotSupported                       NRC = 0x11
	NRCSubFunctionNotSupported                   NRC = 0x12
	NRCIncorrectMessageLengthOrInvalidFormat     NRC = 0x13
	NRCResponseTooLong                           NRC = 0x14
	NRCBusyRepeatRequest                         NRC = 0x21
	NRCConditionsNotCorrect                      NRC = 0x22
	NRCRequestSequenceError                      NRC = 0x24
	NRCNoResponseFromSubnetComponent             NRC = 0x25
	NRCFailurePreventsExecutionOfRequestedAction NRC = 0x26
	NRCRequestOutOfRange                         NRC = 0x31
	NRCSecurityAccessDenied                      NRC = 0x33
	NRCAuthenticationRequired                    NRC = 0x34
	NRCInvalidKey                                NRC = 0x35
	NRCExceededNumberOfAttempts                  NRC = 0x36
	NRCRequiredTimeDelayNotExpired               NRC = 0x37
	NRCSecureDataTransmissionRequired            NRC = 0x38
	NRCSecureDataTransmissionNotAllowed          NRC = 0x39
	NRCSecureDataVerificationFailed              NRC = 0x3A

	NRCCertificateVerificationFailedInvalidTimePeriod   NRC = 0x50
	NRCCertificateVerificationFailedInvalidSignature    NRC = 0x51
	NRCCertificateVerificationFailedInvalidChainOfTrust NRC = 0x52
	NRCCertificateVerificationFailedInvalidType         NRC = 0x53
	NRCCertificateVerificationFailedInvalidFormat       NRC = 0x54
	NRCCertificateVerificationFailedInvalidContent      NRC = 0x55
	NRCCertificateVerificationFailedInvalidScope        NRC = 0x56
	NRCCertificateVerificationFailedInvalidCertificate  NRC = 0x57
	NRCOwnershipVerificationFailed                      NRC = 0x58
	NRCChallengeCalculationFailed                       NRC = 0x59
	NRCSettingAccessRightsFailed                        NRC = 0x5A
	NRCSessionKeyCreationDerivationFailed               NRC = 0x5B
	NRCConfigurationDataUsageFailed                     NRC = 0x5C
	NRCDeAuthenticationFailed                           NRC = 0x5D

	NRCUploadDownloadNotAccepted               NRC = 0x70
	NRCTransferDataSuspended                   NRC = 0x71
	NRCGeneralProgrammingFailure               NRC = 0x72
	NRCWrongBlockSequenceCounter               NRC = 0x73
	NRCRequestCorrectlyReceivedResponsePending NRC = 0x78
	NRCSubFunctionNotSupportedInActiveSession  NRC = 0x7E
	NRCServiceNotSupportedInActiveSession      NRC = 0x7F

	NRCRPMTooHigh                      NRC = 0x81
	NRCRPMTooLow                       NRC = 0x82
	NRCEngineIsRunning                 NRC = 0x83
	NRCEngineIsNotRunning              NRC = 0x84
	NRCEngineRunTimeTooLow             NRC = 0x85
	NRCTemperatureTooHigh              NRC = 0x86
	NRCTemperatureTooLow               NRC = 0x87
	NRCVehicleSpeedTooHigh             NRC = 0x88
	NRCVehicleSpeedTooLow              NRC = 0x89
	NRCThrottlePedalTooHigh            NRC = 0x8A
	NRCThrottlePedalTooLow             NRC = 0x8B
	NRCTransmissionRangeNotInNeutral   NRC = 0x8C
	NRCTransmissionRangeNotInGear      NRC = 0x8D
	NRCBrakeSwitchNotClosed            NRC = 0x8F
	NRCShifterLeverNotInPark           NRC = 0x90
	NRCTorqueConverterClutchLocked     NRC = 0x91
	NRCVoltageTooHigh                  NRC = 0x92
	NRCVoltageTooLow                   NRC = 0x93
	NRCResourceTemporarilyNotAvailable NRC = 0x94
)

var nrcNames = map[NRC]string{
	0x00:                                         "positiveResponse",
	NRCGeneralReject:                             "generalReject",
	NRCServiceNotSupported:                       "serviceNotSupported",
	NRCSubFunctionNotSupported:                   "subFunctionNotSupported",
	NRCIncorrectMessageLengthOrInvalidFormat:     "incorrectMessageLengthOrInvalidFormat",
	NRCResponseTooLong:                           "responseTooLong",
	NRCBusyRepeatRequest:                         "busyRepeatRequest",
	NRCConditionsNotCorrect:                      "conditionsNotCorrect",
	NRCRequestSequenceError:                      "requestSequenceError",
	NRCNoResponseFromSubnetComponent:             "noResponseFromSubnetComponent",
	NRCFailurePreventsExecutionOfRequestedAction: "failurePreventsExecutionOfRequestedAction",
	NRCRequestOutOfRange:                         "requestOutOfRange",
	NRCSecurityAccessDenied:                      "securityAccessDenied",
	NRCAuthenticationRequired:                    "authenticationRequired",
	NRCInvalidKey:                                "invalidKey",
	NRCExceededNumberOfAttempts:                  "exceededNumberOfAttempts",
	NRCRequiredTimeDelayNotExpired:               "requiredTimeDelayNotExpired",
	NRCSecureDataTransmissionRequired:            "secureDataTransmissionRequired",
	NRCSecureDataTransmissionNotAllowed:          "secureDataTransmissionNotAllowed",
	NRCSecureDataVerificationFailed:              "secureDataVerificationFailed",

	NRCCertificateVerificationFailedInvalidTimePeriod:   "certificateVerificationFailedInvalidTimePeriod",
	NRCCertificateVerificationFailedInvalidSignature:    "certificateVerificationFailedInvalidSignature",
	NRCCertificateVerificationFailedInvalidChainOfTrust: "certificateVerificationFailedInvalidChainOfTrust",
	NRCCertificateVerificationFailedInvalidType:         "certificateVerificationFailedInvalidType",
	NRCCertificateVerificationFailedInvalidFormat:       "certificateVerificationFailedInvalidFormat",
	NRCCertificateVerificationFailedInvalidContent:      "certificateVerificationFailedInvalidContent",
	NRCCertificateVerificationFailedInvalidScope:        "certificateVerificationFailedInvalidScope",
	NRCCertificateVerificationFailedInvalidCertificate:  "certificateVerificationFailedInvalidCertificate",
	NRCOwnershipVerificationFailed:                      "ownershipVerificationFailed",
	NRCChallengeCalculationFailed:                       "challengeCalculationFailed",
	NRCSettingAccessRightsFailed:                        "settingAccessRightsFailed",
	NRCSessionKeyCreationDerivationFailed:               "sessionKeyCreationDerivationFailed",
	NRCConfigurationDataUsageFailed:                     "configurationDataUsageFailed",
	NRCDeAuthenticationFailed:                           "deAuthenticationFailed",

	NRCUploadDownloadNotAccepted:               "uploadDownloadNotAccepted",
	NRCTransferDataSuspended:                   "transferDataSuspended",
	NRCGeneralProgrammingFailure:               "generalProgrammingFailure",
	NRCWrongBlockSequenceCounter:               "wrongBlockSequenceCounter",
	NRCRequestCorrectlyReceivedResponsePending: "requestCorrectlyReceivedResponsePending",
	NRCSubFunctionNotSupportedInActiveSession:  "subFunctionNotSupportedInActiveSession",
	NRCServiceNotSupportedInActiveSession:      "serviceNotSupportedInActiveSession",

	NRCRPMTooHigh:                      "rpmTooHigh",
	NRCRPMTooLow:                       "rpmTooLow",
	NRCEngineIsRunning:                 "engineIsRunning",
	NRCEngineIsNotRunning:              "engineIsNotRunning",
	NRCEngineRunTimeTooLow:             "engineRunTimeTooLow",
	NRCTemperatureTooHigh:              "temperatureTooHigh",
	NRCTemperatureTooLow:               "temperatureTooLow",
	NRCVehicleSpeedTooHigh:             "vehicleSpeedTooHigh",
	NRCVehicleSpeedTooLow:              "vehicleSpeedTooLow",
	NRCThrottlePedalTooHigh:            "throttlePedalTooHigh",
	NRCThrottlePedalTooLow:             "throttlePedalTooLow",
	NRCTransmissionRangeNotInNeutral:   "transmissionRangeNotInNeutral",
	NRCTransmissionRangeNotInGear:      "transmissionRangeNotInGear",
	NRCBrakeSwitchNotClosed:            "brakeSwitchNotClosed",
	NRCShifterLeverNotInPark:           "shifterLeverNotInPark",
	NRCTorqueConverterClutchLocked:     "torqueConverterClutchLocked",
	NRCVoltageTooHigh:                  "voltageTooHigh",
	NRCVoltageTooLow:                   "voltageTooLow",
	NRCResourceTemporarilyNotAvailable: "resourceTemporarilyNotAvailable",
}

// String returns the ISO 14229-1 name of the code, such as
// "requestOutOfRange". Codes the standard reserves are named after their
// range: "ISOSAEReserved(0x15)", "reservedByExtendedDataLinkSecurityDocument(0x3B)",
// "reservedForSpecificConditionsNotCorrect(0x95)" or
// "vehicleManufacturerSpecificConditionsNotCorrect(0xF0)".
func (n NRC) String() string {
	if name, ok := nrcNames[n]; ok {
		return name
	}
	var rng string
	switch {
	case n >= 0x38 && n <= 0x4F:
		rng = "reservedByExtendedDataLinkSecurityDocument"
	case n >= 0x95 && n <= 0xEF:
		rng = "reservedForSpecificConditionsNotCorrect"
	case n >= 0xF0 && n <= 0xFE:
		rng = "vehicleManufacturerSpecificConditionsNotCorrect"
	default:
		rng = "ISOSAEReserved"
	}
	return fmt.Sprintf("%s(0x%02X)", rng, byte(n))
}

// Error returns the same as String, so that printing an NRC shows its
// name whether it is taken as a value or as an error.
func (n NRC) Error() string { return n.String() }
