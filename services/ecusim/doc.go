// Package ecusim is the ECU simulator service, ECU_SIM_SERVICE (kind
// "ecu-sim"): a simulated ECU that answers UDS (ISO 14229-1) over ISO-TP on
// a CAN bus and, optionally, over DoIP (ISO 13400-2), for rigs and tests
// without the real ECU.
//
//	services:
//	  - kind: ecu-sim
//	    args: {bus: "virtual:bus0", s3_ms: 5000, dids: {"F18C": "0102030405"}}
//
// # Args
//
// Zero values mean the defaults in brackets.
//
//   - bus ["virtual:bus0"]: the CAN bus, "virtual:<name>" or
//     "socketcan:<interface>".
//   - rx_id [0x7E0], tx_id [0x7E8], func_id [0x7DF]: physical requests,
//     responses, functional requests (single frames). extended selects
//     29-bit identifiers, fd CAN FD frames; padding [true] pads frames
//     with pad_byte [0xCC] (as in tester-present).
//   - doip_listen [off]: the TCP and UDP address of a DoIP entity, such as
//     ":13400" or "127.0.0.1:0"; the doip_address method tells the address
//     bound. logical_address [0x1000, doip.DefaultEntityAddress] is the
//     entity's address, functional_address [0xE400] the functional one it
//     also answers, vin ["BGKECUSM000000001"] its VIN. The entity is a
//     DoIP node (node type 0x01 in its entity status), not a gateway.
//   - p2_ms [50] and p2_star_ms [5000]: the timing reported by
//     DiagnosticSessionControl; s3_ms [5000]: the S3 server timeout.
//   - dids: data identifiers, {"F190": "<hex value>"}. DID F190 answers
//     the vin unless dids sets it. write_security makes writes need
//     security access.
//   - security_level [0x01]: the requestSeed level (odd); sendKey is the
//     next one. seed [random]: a fixed seed in hex; key_xor ["AABBCCDD"]:
//     key = seed XOR key_xor, and the seed has its length.
//     security_attempts [3]: invalid keys before the lock-out;
//     security_delay_ms [1000]: the lock-out.
//
// New applies the defaults (one normalize step), then checks the
// arguments once and refuses those it cannot use (bad hex, identifiers that
// do not fit, an even security level, a seed of the wrong length...) with
// an error "ecu-sim: invalid arguments: ..." that matches ErrInvalidArgs.
//
// # Methods
//
//   - session: {"session": 3, "session_name": "extendedDiagnosticSession",
//     "s3_expiries": 0, "security_unlocked": false}
//   - stats: requests, positive, negative and suppressed responses, counts
//     by SID and NRC, session changes, resets, S3 expiries, ISO-TP errors,
//     the session and the DoIP address.
//   - set_did {"did": "F190", "data": "<hex>"} sets (or adds) a value.
//   - get_did "F190" (the DID alone: a number, "0xF190" or "F190") returns
//     {"did": "0xF190", "data": "<hex>"}:
//     bgkit call ECU_SIM_SERVICE get_did '"F190"'
//   - doip_address: the DoIP entity's TCP address, "" without DoIP
//     (method DoIPAddress, named by EndpointNames).
//
// At Shutdown the simulator logs LogStopped with its counters.
//
// # Events
//
// On evt.<NAME>.<topic> (service.Emit):
//
//   - session_changed {"from": 1, "to": 3, "cause": "request"}: the active
//     session changed, by DiagnosticSessionControl ("request"), the S3
//     timer ("s3") or ECUReset ("reset"; only from a non-default session).
//   - security_unlocked {"level": 1}: SecurityAccess granted the level.
//
// # Behaviour
//
// Sessions: DiagnosticSessionControl (0x10) switches between the default
// (0x01), programming (0x02) and extended (0x03) sessions and answers with
// P2 and P2*: 10 03 → 50 03 00 32 01 F4. Every session change locks
// security access. In a non-default session every request, TesterPresent
// included (3E 00 or 3E 80, physical or functional), restarts the S3
// timer; when it runs out the ECU falls back to the default session, locks
// security, counts the expiry and logs LogS3Expiry at INFO.
//
// ECUReset (0x11, sub-functions 01 hard, 02 keyOffOn, 03 soft) answers
// positively, then returns to the default session with security locked
// (counted, logged as LogReset). Written DIDs keep their values, like
// non-volatile memory, and DoIP connections stay open.
//
// DID F186 (activeDiagnosticSessionDataIdentifier) answers the active
// session, one byte, unless dids sets it: what an ECU watchdog reads.
//
// ReadDataByIdentifier (0x22) answers one or several DIDs in one request,
// leaving out those it does not know; requestOutOfRange (0x31) when it
// knows none, incorrectMessageLengthOrInvalidFormat (0x13) for an odd
// number of DID bytes, responseTooLong (0x14) above 4095 bytes.
//
// WriteDataByIdentifier (0x2E) changes DIDs that exist, with a value of
// the stored length, in the extended session only. The checks run in the
// order of ISO 14229-1: in another session the service is not supported
// there (serviceNotSupportedInActiveSession, 0x7F); a request shorter than
// 4 bytes gives 0x13; an unknown DID 0x31; with write_security and
// security locked, securityAccessDenied (0x33); a value of another length
// 0x13.
//
// SecurityAccess (0x27) works in non-default sessions only (else 0x7F),
// on the configured level pair (else subFunctionNotSupported, 0x12).
// requestSeed returns a seed, or zeros when already unlocked; sendKey
// without a seed before it is requestSequenceError (0x24); each seed
// answers one key; a wrong key is invalidKey (0x35), and the last allowed
// wrong key exceededNumberOfAttempts (0x36), after which every
// SecurityAccess request is requiredTimeDelayNotExpired (0x37) until the
// delay has passed.
//
// Everything else gets the negative response ISO 14229-1 prescribes:
// serviceNotSupported (0x11) for other services, subFunctionNotSupported
// (0x12) for other sub-functions, 0x13 for wrong lengths. Functional
// requests, on func_id over CAN and to functional_address over DoIP, get
// no 0x11, 0x12, 0x31, 0x7E or 0x7F negative response, as ISO 14229-1 asks
// (uds.FunctionalSuppressed, one rule for both transports); a request with
// the suppressPosRspMsgIndicationBit gets no positive response on either.
// Over DoIP the response to a functional request comes from
// logical_address (ISO 13400-2), not from the functional address.
//
// All state is behind one mutex, so requests over CAN and DoIP may
// interleave. Responses go out as soon as they are ready; the simulator
// never sends response pending.
package ecusim
