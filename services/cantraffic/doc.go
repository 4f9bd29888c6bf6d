// Package cantraffic is a CAN traffic generator service, CAN_TRAFFIC_SERVICE
// (kind "can-traffic"): frames made like can-utils cangen makes them,
// cyclic message sets, or the replay of a candump log, on a virtual or
// SocketCAN bus.
//
// # Arguments
//
// [Args] picks one of three modes. Zero values mean the defaults; the bus
// defaults to "virtual:bus0" and sending starts on the start method unless
// autostart is true.
//
// The generator (no cyclic, no replay) takes cangen's options:
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
//	{"cyclic": [{"id": "123", "data": "11223344", "period_ms": 100},
//	            {"id": "18FEF100", "extended": true, "data": "00", "period_ms": 10}]}
//
// A replay sends the frames of a candump log (candump -l, or a file of the
// can-recorder service) with their recorded spacing divided by speed,
// loops times (0: forever), optionally only those of one interface:
//
//	{"replay": {"file": "drive.log", "speed": 2, "loops": 1, "interface": "can0"}}
//
// New rejects what cannot work with an error naming the argument: a bad
// mode, an identifier above 7FF without extended, a generator argument in
// another mode, a replay file that is missing or has a bad line.
//
// # Methods
//
//	start        starts a run; a run that ended or was stopped starts anew
//	stop         stops; returns once nothing more is sent
//	stats        Stats: mode, running, sent, errors, frames_per_second, last_error,
//	             and generator (gap, modes, the run's seed), cyclic (per message) or replay (loops done)
//	set_gap      the generator's gap in ms (> 0), at once: nats req svc.CAN_TRAFFIC_SERVICE.set_gap 0.5
//	set_payload  a cyclic message's payload: {"id": "123", "data": "AABB"}
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
// A replay catches up, keeping the recorded times.
//
// # Errors
//
// A frame the bus refuses is counted in stats (errors, last_error) and
// logged at most once a second with the number of errors not logged; the
// run goes on with the next frame. It never stops silently.
package cantraffic
