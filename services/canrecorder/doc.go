// Package canrecorder is a CAN bus recorder service, CAN_RECORDER_SERVICE
// (kind "can-recorder"): it writes the frames of a virtual or SocketCAN bus
// to a candump log file that candump, canplayer, log2asc and the
// can-traffic service's replay read.
//
// # Arguments
//
// [Args]; zero values mean the defaults:
//
//	bus          "virtual:bus0" (default) or "socketcan:can0"
//	path         the log file (required); created, or truncated
//	append       add to the file instead of truncating it
//	filters      candump filters, a frame is kept when one passes:
//	             ["123:7FF", "1ABCDEF0:1FFFFFFF", "200~700", "~200:700"] (see ParseFilter)
//	ids          identifiers kept besides the filters: [2024, "0x7E8", "7E8"] (hexid.ID)
//	interface    the name written in each line (default: the bus name, "bus0")
//	autostart    record from the start (default true; false waits for start)
//	nanoseconds  9 decimals in timestamps instead of candump's 6
//
// Each line is what candump -l writes, with the time the frame was
// received:
//
//	(1436509052.249713) bus0 123#DEADBEEF
//
// # Methods
//
//	start  attaches to the bus: every frame sent after it returns is recorded
//	stop   detaches; once it returns, the file holds every frame received before, synced to disk
//	stats  Stats: running, frames, bytes, path, dropped, errors, last_error
//	tail   a stream of the frames recorded from now on (TailFilter: filters, ids),
//	       as cansend text: controller.StreamOf[can.Frame] or Controller.Tail
//
// Arguments get their defaults and are checked in one step (New), and
// every error names the JSON field.
//
// # Tail
//
//	for f, err := range rec.Tail(ctx, canrecorder.TailFilter{IDs: []hexid.ID{0x7E8}}) { ... }
//
// The bus cannot wait for a reader, so a tail holds the frames its reader
// has not taken yet (memory grows with that backlog only, 76 bytes a
// frame) and ends with ErrTailBehind once it exceeds MaxTailBacklog frames
// (131,072, about 10 MiB; a burst of 100,000 frames fits): a tail never
// loses frames silently, and the recorder never waits for one, so a slow
// reader slows neither the file nor the other tails.
//
// Stop and start can alternate: frames sent while stopped are not
// recorded, and the file goes on.
//
// # Nothing lost at the end
//
// Frames are buffered in memory and written to the file every 200 ms
// (and when stats is called), so that bursts cost no system call per
// frame. Stop, and Shutdown (on SIGTERM or Terminate) which stops first,
// make sure that every frame delivered before them reaches the disk: on a
// virtual bus a round trip to the NATS server collects the frames routed
// to the recorder before the call; the node is then read until it stays
// idle for 100 ms (at most 2 s on a bus that never goes quiet); the
// buffer is flushed and the file synced. So once Terminate returns, the
// file holds every frame the recorder received.
//
// A write or receive error is counted in stats and logged at most once a
// second. A frame NATS had to drop because the recorder fell behind is
// counted in dropped (far beyond what a CAN bus carries: the recorder
// keeps up with about 10⁵ frames/s).
package canrecorder
