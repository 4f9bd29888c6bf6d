// Package testerpresent provides TESTER_PRESENT_SERVICE, a bgkit service
// that sends UDS Tester Present (ISO 14229-1 service 0x3E) periodically,
// so that an ECU stays in the diagnostic session a test put it in. It
// sends over ISO-TP on a CAN bus or over DoIP.
//
//	h, err := spawn.RunKind(ctx, b, testerpresent.Kind,
//		json.RawMessage(`{"bus": "virtual:bus0", "interval_ms": 2000}`))
//	tp, err := testerpresent.Connect(ctx, b, "")
//	err = tp.Start(ctx)
//
// # Args
//
// Zero values take the defaults (see [Args]). Identifiers and addresses
// (hexid.ID) take a number, "0x7DF" or "7DF", and print as "0x7DF":
//
//	bus                "virtual:bus0"  CAN bus spec ("socketcan:can0", ...)
//	tx_id              0x7DF           identifier of the requests (functional)
//	rx_id              0x7E8           identifier of replies (suppress_response false)
//	extended           false           29-bit identifiers
//	padding            true            pad frames to 8 bytes ...
//	pad_byte           0xCC            ... with this byte
//	doip_address       ""              "host:port": use DoIP instead of CAN
//	source_address     0x0E00          tester address for DoIP
//	target_address     (required)      ECU address for DoIP
//	functional         false           target_address is functional (0xE400): replies come from the entity
//	interval_ms        2000            period, 1 to 3600000
//	suppress_response  true            3E 80; false sends 3E 00 and checks 7E 00
//	p2_ms              50              how long to wait for 7E 00
//	autostart          false           start sending at Initialize
//	lost_after         3               missed replies in a row that make ecu_lost
//
// padding and suppress_response default to true, so they are *bool in Go
// (nil means the default) and JSON false turns them off. A pad_byte with
// padding false, a tx_id equal to rx_id, identifiers wider than 11 bits
// without extended, or doip_address without target_address are errors
// "tester-present: invalid arguments: ..." matching [ErrInvalidArgs]. New
// applies the defaults in one normalize step and checks the result once;
// each rule is either a validate tag or code, never both. An interval at or above the S3 server timeout
// of 5 s is allowed but logged as a warning, since the ECU then leaves its
// session between requests.
//
// On CAN the request is one ISO-TP single frame to tx_id: 02 3E 80 CC CC
// CC CC CC with the defaults. With doip_address the service connects to
// the DoIP entity at Initialize, activates routing for source_address and
// sends diagnostic messages to target_address; a lost connection is dialled
// again by the next request.
//
// # Methods
//
//	start         begin sending (the first request goes out at once)
//	stop          stop sending; returns when no request is in flight
//	is_running    bool
//	set_interval  int ms, 1 to 3600000 (400 otherwise); see Behaviour
//	stats         {"sent", "errors", "skipped", "lateness_p50_us",
//	              "lateness_p99_us", "lateness_max_us", "last_error",
//	              "interval_ms", "running"}
//
// [Controller] wraps them for Go callers. At Shutdown the service logs
// [LogStopped] with requests sent, replies answered, errors and skipped
// periods.
//
// # Events
//
// With suppress_response false, on evt.<NAME>.<topic> (service.Emit):
//
//	ecu_lost  {"missed": 3, "error": "..."}   lost_after periods in a row without a valid reply
//	ecu_back  {"missed": 7, "down_ms": 140}   the first valid reply after ecu_lost
//
// # Behaviour
//
// Requests are due at absolute deadlines start + k·interval, so the
// schedule does not drift however long it runs. The service sleeps until
// 1.5 ms before a deadline and spins (yielding) for the rest, which keeps
// requests within tens of microseconds of their deadlines at the cost of
// a little CPU per period. A request that could not go out until half an
// interval or more after its deadline (a stall) goes out at once, late,
// for the last deadline passed, and the schedule starts again from it: the
// gap the ECU sees is never longer than the stall (waiting for the next
// deadline would leave two intervals or more, past its S3 timer). The
// deadlines passed before it are counted in "skipped", not made up: a
// stall never causes a burst.
//
// set_interval takes effect on the next period: the next request is due
// one new interval after the deadline of the last one (at once if that is
// past, or late as above).
//
// A failed period — the frame or DoIP message could not be sent, or with
// suppress_response false no 7E 00 came within p2_ms or a negative
// response came — is counted in "errors", kept in "last_error", logged
// at WARN (the first of a streak, then each new error, and the same one at
// most every 5 s) and retried on the next period: the service never stops
// on its own. The wait for the reply is part of the period.
//
// Lateness is the time from a deadline to the moment the request is handed
// to the transport; its percentiles cover the last 8192 requests.
package testerpresent
