// Package cantraffic is a CAN traffic generator service, CAN_TRAFFIC_SERVICE
// (kind "can-traffic"): frames made like can-utils cangen makes them,
// cyclic message sets, the replay of a candump log, or a rest-bus
// simulation of DBC nodes, on a virtual or SocketCAN bus.
//
// # Arguments
//
// [Args] picks one of four modes: generator, cyclic, replay or restbus,
// each an argument of that name; with none, the generator runs with its
// defaults. Zero values mean the defaults; the bus defaults to
// "virtual:bus0" and sending starts on the start method unless autostart
// is true. Every CAN identifier argument takes a number, "0x123" or "123"
// (hex) and prints as "0x123".
//
// The generator takes cangen's options:
//
//	{"generator": {"gap_ms": 10, "id_mode": "7E0", "data_mode": "i"}}
//
//	gap_ms     -g  gap between bursts in ms, decimals allowed; unset 200, 0 as fast as possible
//	burst      -c  frames per burst (default 1)
//	count      -n  frames per run (default 0: no limit)
//	id_mode    -I  r random, i increment, e random even, o random odd, or a hex id
//	len_mode   -L  r random, i increment, or a length (default r; with fixed data, its length)
//	data_mode  -D  r random, i increment, or hex data where x is a random nibble: "11xx3344"
//	extended   -e  29-bit identifiers
//	fd, brs, esi   -f, -b, -E  CAN FD frames and their flags (brs and esi imply fd)
//	rtr        -R  remote frames
//	mix        -m  a random kind for each frame
//	seed           reproducible random values (default 0: a new seed per run)
//
// As in cangen, a random classic length is 8 for half the frames (DLC 9–15
// are cut to 8), incremented data is a little-endian counter in the first
// 8 bytes with a length of at least 1, and a fixed CAN FD length rounds up
// to a valid one. cangen's -8 (classic DLC above 8) has no counterpart: a
// can.Frame has no raw DLC field.
//
// A cyclic set sends each message with its own period:
//
//	{"cyclic": [{"id": "0x123", "data": "11223344", "period_ms": 100},
//	            {"id": "0x18FEF100", "extended": true, "data": "00", "period_ms": 10}]}
//
// A replay sends the frames of a candump log (candump -l, or a file of the
// can-recorder service) with their recorded spacing divided by speed,
// loops times (0: forever), optionally only those of one interface:
//
//	{"replay": {"file": "drive.log", "speed": 2, "loops": 1, "interface": "can0"}}
//
// A rest-bus simulation sends every message the given nodes transmit in a
// DBC file (package can/dbc) at its cycle time (GenMsgCycleTime), with the
// start values of its signals (GenSigStartValue); CAN FD messages go out
// as CAN FD frames. Alive counters are incremented in every frame and
// wrap after max (default: the largest value of the signal's width);
// checksums are written last, over the rest of the payload:
//
//	{"restbus": {"dbc": "car.dbc", "nodes": ["ECM", "ABS"],
//	  "counters":  [{"message": "EngineData", "signal": "EngineData_Counter", "max": 14}],
//	  "checksums": [{"message": "EngineData", "signal": "EngineData_CRC", "type": "e2e_p01", "data_id": "0x100"}]}}
//
// Checksum types: "crc8" (CRC-8 SAE J1850, polynomial 0x1D, init and XOR
// 0xFF, over the payload without the checksum byte), "e2e_p01" (AUTOSAR E2E
// Profile 1: the J1850 polynomial over the data ID — both bytes, low
// first, or per data_id_mode "alt" or "low" — and the payload without the
// CRC byte, with an effective start value and final XOR of 0) and
// "e2e_p02" (Profile 2: CRC8H2F over the payload without the CRC byte and
// then data_ids[counter], or data_id for every counter value). The checksum
// signal must be 8 bits filling one byte; the E2E profiles need a counter.
//
// New rejects what cannot work with an error naming the argument: two
// modes, a bad generator mode, an identifier above 0x7FF without extended,
// a replay file that is missing or has a bad line, a DBC that does not
// parse, a node it does not have, a counter or checksum signal that
// cannot be one.
//
// # Methods
//
//	start        starts a run; a run that ended or was stopped starts anew
//	stop         stops; returns once nothing more is sent
//	stats        Stats: mode, running, sent, errors, frames_per_second, last_error,
//	             and generator (gap, modes, the run's seed), cyclic (per message) or replay (loops done)
//	set_gap      the generator's gap in ms (> 0), at once: nats req svc.CAN_TRAFFIC_SERVICE.set_gap 0.5
//	set_payload  a cyclic message's payload: {"id": "0x123", "data": "AABB"}
//	set_signal   a rest-bus signal, from the message's next frame on:
//	             {"message": "ABS_Status", "signal": "VehicleSpeed", "value": 50},
//	             or a name of its value table: {"message": "Ignition", "signal":
//	             "IgnitionState", "label": "Off"}; a value out of range is a 400 naming
//	             the signal and its range. Setting a multiplexed signal selects its
//	             multiplexer value: a frame carries the signals of one value.
//	signals      the current value of every rest-bus signal, by message and signal
//
// # Events
//
// When a run ends, the service emits run_ended ({"sent": frames of the run,
// "reason": "count" | "loops" | "stopped" | "shutdown"}) on
// evt.CAN_TRAFFIC_SERVICE.run_ended.
//
// A fresh run restarts count, the increments and, for a seeded generator,
// the random sequence: the same seed gives the same frames in every run.
//
// # Timing
//
// Every mode sends at absolute deadlines (the run's start plus k gaps, or
// periods, or scaled recorded offsets), so errors in waking up never add
// up over a long run. A wait sleeps until 1.5 ms before its deadline and
// spins (yielding) for the rest, because timers wake up to a millisecond
// late on a busy machine; gaps below that are paced by spinning alone,
// which keeps one core busy.
//
// When the generator falls behind, it sends the missed frames at once to
// keep its mean rate, unless it is more than a gap and 10 ms behind: then
// it starts again from the present. A cyclic message that is late is sent
// once and its missed periods are skipped: lateness never causes a burst.
// A rest-bus message late by up to 250 ms (RestbusCatchUp) sends the frames
// of its missed periods one after the other, so that its mean period
// stays its cycle time through the stalls of a loaded machine (an ECU
// checks the rate of the messages it receives); later than that it skips
// them.
// A replay catches up, keeping the recorded times.
//
// # Errors
//
// A frame the bus refuses is counted in stats (errors, last_error) and
// logged at most once a second with the number of errors not logged; the
// run goes on with the next frame. It never stops silently.
package cantraffic
