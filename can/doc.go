// Package can provides CAN frames and the buses that carry them: Linux
// SocketCAN interfaces, a virtual bus over NATS that any process (or the
// nats command line) can join, and an in-process hub for tests. It reads
// and writes the text forms of can-utils, so frames and logs move freely
// between bgkit, cansend, candump and canplayer.
//
// # Frames
//
// A [Frame] is a small value (copy it freely) holding a classic CAN or a
// CAN FD frame: an 11-bit or 29-bit (Extended) identifier, a payload of up
// to 8 (classic) or 64 (FD) bytes, and the Remote, BRS and ESI flags.
// [Frame.Validate] tells whether a frame could appear on a bus;
// [FrameBits] and [FrameDuration] give how long it occupies one.
//
// # Text forms
//
// [ParseFrame] and [Frame.String] use the compact syntax of cansend and
// candump -L (can-utils lib.c): a 3-digit id is standard, an 8-digit id is
// extended, and CAN FD frames put their flags digit after "##":
//
//	123#DEADBEEF       1ABCDEF0#00       123#R      123#R3
//	123##1DEADBEEF     (FD with BRS)     123#DE.AD.BE.EF (dots allowed)
//
// Parsing accepts lower case and '.' separators; formatting writes upper
// case without separators, byte for byte what can-utils prints. Frame also
// implements encoding.TextMarshaler, TextAppender and TextUnmarshaler.
// Parse errors are *[SyntaxError], which wraps [ErrSyntax].
//
// # candump logs
//
// A [LogEntry] is one line of a candump -l log file:
//
//	(1436509052.249713) can0 123#DEADBEEF
//	(1436509052.249713) can0 123#DEADBEEF R
//
// [ParseLogLine] reads one line; [LogReader] reads a whole file, skipping
// what canplayer skips (lines not starting with '('), and reports bad
// lines as *[LineError] with their line number; [LogWriter] writes a file
// that candump could have written.
//
// # Buses
//
// A [Bus] is one node's connection to a bus: Send, Recv and Close, safe
// for concurrent use. A node never receives its own frames, and a node with
// [Filter]s (kernel can_filter semantics) receives only the frames that
// pass one of them. There are three kinds:
//
//   - [Virtual]: a bus named X is the NATS subject can.X, one frame per
//     message in cansend text, so "nats pub can.bus0 '7E0#023E80'" puts a
//     frame on bus0 and "nats sub can.bus0" watches it. See [NewVirtual].
//   - [SocketCAN]: a Linux CAN interface such as can0 or vcan0, through
//     go.einride.tech/can. Classic frames only. See [DialSocketCAN].
//   - [Hub]: an in-process bus for tests. With [WithBitrate] it paces
//     frames as a real bus at that bitrate would. See [NewHub].
//
// # Specs
//
// A bus is named in configuration by a spec string "kind:name", which
// [ParseSpec] checks and [Open] opens:
//
//	virtual:bus0     the virtual bus bus0 (needs WithNATS)
//	socketcan:can0   the SocketCAN interface can0
//
// Options shared by the constructors are [WithFilters], [WithNATS],
// [WithLogger] and [WithQueueSize].
package can
