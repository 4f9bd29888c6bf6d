// Package ecuwatchdog is the ECU watchdog service, ECU_WATCHDOG_SERVICE
// (kind "ecu-watchdog"): in the background of a fuzzing or flashing run it
// probes an ECU every period and reports a crash (no reply) or a reset
// (the session fell back to the default one) as events, with the time and
// the last frames seen on the CAN bus — a black box of what led to it.
//
//	services:
//	  - kind: ecu-watchdog
//	    args: {bus: "virtual:bus0", tx_id: "0x7E0", rx_id: "0x7E8", probe: session, period_ms: 200}
//
// # Args
//
// Zero values take the defaults in brackets. Identifiers and addresses
// (hexid.ID) take a number, "0x7E0" or "7E0".
//
//   - bus ["virtual:bus0"], tx_id [0x7E0], rx_id [0x7E8], extended, padding
//     [true], pad_byte [0xCC]: ISO-TP to the ECU (physical addressing).
//   - doip_address ["": CAN]: "host:port" of a DoIP entity, probed from
//     source_address [0x0E00] to target_address [the entity's address].
//     The watchdog connects at its first probe and after a lost
//     connection, so it may start before the ECU.
//   - probe ["tester_present"]: TesterPresent 3E 00, or "session":
//     ReadDataByIdentifier F186 (active diagnostic session), which also
//     sees resets.
//   - period_ms [500]; timeout_ms [200, at most the period]: the wait for a
//     reply; crash_after [2]: probes in a row without a reply that make a
//     crash; black_box [100]: frames kept (CAN only).
//
// New applies the defaults in one normalize step, checks the result once
// and returns errors "ecu-watchdog: invalid arguments: ..." matching
// ErrInvalidArgs.
//
// # Methods
//
//   - status: {"state": "ok", "probes", "replies", "missed",
//     "consecutive_missed", "crashes", "resets", "session", "last_reply",
//     "last_error", "last_incident"}; state is "waiting" before the first
//     reply, "ok" or "crashed".
//   - black_box: the frames kept, oldest first, [{"time", "frame":
//     "7E0#023E00CCCCCCCCCC"}].
//
// # Events
//
// On evt.<NAME>.<topic> (service.Emit), each an Incident:
//
//   - ecu_crashed {"kind": "crashed", "time", "missed", "error",
//     "last_reply", "frames"}: crash_after probes in a row got no reply.
//   - ecu_reset {"kind": "reset", "time", "from": 3, "to": 1, "frames"}:
//     the session probe read the default session after a non-default one.
//   - ecu_back {"kind": "back", "time", "missed", "down_ms"}: the first reply
//     after ecu_crashed.
//
// A negative response is a reply: the ECU is alive; so is a reply that is
// not what the probe asked (62 F1 86 without its session byte), which
// status keeps as its last error. The probes are
// requests like any other, so they restart the ECU's S3 timer: the
// watchdog keeps a session alive as Tester Present does. After a crash the
// last session is forgotten, so an ECU that comes back is not also
// reported as reset.
//
// The black box is a second node on the bus, without filters: it holds
// the probes and replies and every other frame, with the time each was
// received.
package ecuwatchdog
