// Package diagtraffic is the diagnostic traffic service,
// DIAG_TRAFFIC_SERVICE (kind "diag-traffic"): it sends a scripted list of
// UDS requests over ISO-TP on a CAN bus or over DoIP, each at its own
// period, checks the replies and counts, per request, the replies as
// expected, the others, the negative responses by code, the timeouts and
// the latency.
//
//	services:
//	  - kind: diag-traffic
//	    args:
//	      doip_address: "127.0.0.1:13400"
//	      duration_ms: 60000
//	      autostart: true
//	      requests:
//	        - {name: vin, data: "22 F1 90", period_ms: 100, expect: "62 F1 90"}
//	        - {name: session, data: "22 F1 86", period_ms: 500, expect: "62 F1 86 03"}
//	        - {name: bad did, data: "22 12 34", period_ms: 1000, expect: "7F 22 31"}
//
// It is a kind of its own, not a mode of can-traffic: can-traffic puts
// raw frames on a bus without waiting for anything, while this service is
// a UDS client — one request in flight on a transport that may be DoIP,
// replies matched to requests, P2 and response pending — and its results
// are per request.
//
// # Args
//
// Zero values take the defaults in brackets. Identifiers and addresses
// (hexid.ID) take a number, "0x7E0" or "7E0".
//
//   - bus ["virtual:bus0"], tx_id [0x7E0], rx_id [0x7E8], extended, padding
//     [true], pad_byte [0xCC]: ISO-TP to the ECU.
//   - doip_address ["": CAN]: "host:port" of a DoIP entity, from
//     source_address [0x0E00] to target_address [the entity's address].
//   - requests (at least one): {"name" [the data], "data": hex request,
//     "period_ms": 1 to 3600000, "expect": hex start of the reply (a
//     negative one is 7F <sid> <nrc>; "" expects a positive response),
//     "count": times to send it [0: until the run ends]}.
//   - timeout_ms [1000]: the wait for a reply (P2; P2* 5 s after a
//     response pending); duration_ms [0: none]: the run ends after it;
//     autostart [false]: start the run at Initialize.
//
// A run ends when every request has a count and has been sent that often
// ("count"), after duration_ms ("duration"), at stop ("stopped") or at
// shutdown ("shutdown").
//
// # Methods
//
//   - start: begins a run; counters add up over runs.
//   - stop: ends the run; returns when no request is in flight.
//   - is_running: bool.
//   - stats: {"running", "ended", "sent", "ok", "mismatched", "nrc",
//     "timeouts", "errors", "requests": [{"name", ...the same counters,
//     "nrcs": {"31": 2}, "latency_p50_us", "latency_p99_us",
//     "latency_max_us", "last_reply", "last_error"}]}.
//
// # Events
//
//   - run_ended {"reason", "duration_ms", "sent", "ok", "mismatched",
//     "nrc", "timeouts", "errors"} on evt.<NAME>.run_ended.
//
// # Behaviour
//
// One request is in flight at a time. Each request is due at absolute
// deadlines start + k·period_ms; the earliest due goes next. A request
// more than a period late goes out once and its schedule restarts from
// then, so a slow ECU never causes a burst. The latency is from the send
// to the final reply. A request with the suppressPosRspMsgIndicationBit
// that gets no negative response within P2 counts as a positive reply.
package diagtraffic
