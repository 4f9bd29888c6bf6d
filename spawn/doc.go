// Package spawn runs bgkit services as child processes: the parent side
// (registry, [Run], [Handle]) and the child's entry point ([Main]).
//
// # Re-exec
//
// The binary that spawns is re-executed as the child. Its main (or TestMain)
// registers the service constructors and calls [Main] first; in a parent
// Main returns at once, in a child it serves the service and exits:
//
//	func TestMain(m *testing.M) {
//		spawn.Register(NewCounterService)
//		spawn.Main()
//		os.Exit(m.Run())
//	}
//
// # Starting
//
// [Run] validates the arguments (validate tags), execs the child in a
// process group of its own, hands it its arguments and scoped bus
// credentials over a pipe (never argv), and returns once the child answers
// requests. A child that cannot start — bad arguments, a failing
// constructor or Initialize — fails Run with that message, its exit status
// and the tail of its stderr, and leaves no process behind. A name already
// served on the bus is refused ([ErrDuplicateName]).
//
// # Logs
//
// Inside a child, slog.Default() publishes to log.<NAME>; the parent
// re-emits every record into the logger given with [WithLogger] with its
// original time, level, message and attributes plus service and pid.
// Lines the child writes to stdout and stderr become records too (INFO and
// WARN); a panic's trace becomes one ERROR record.
//
// # Stopping
//
// [Handle.Terminate] sends SIGTERM (the child answers new calls 503, waits
// for calls in flight, runs Shutdown, flushes its logs), waits the grace
// period ([WithGrace], default 5 s), then SIGKILLs the process group. It
// returns after every record the child wrote has reached the parent.
//
// # No orphans
//
// A child holds the read end of a pipe whose write end only the parent
// has. When the parent dies — even by SIGKILL — the pipe reaches EOF and the
// child shuts down and kills its process group, grandchildren included,
// within 300 ms. A child on the embedded bus also stops when
// its connection drops.
//
// # Warm pool
//
// [NewPool] keeps children exec'd and initialised, waiting for their
// bootstrap; [WithPool] makes Run take one, so a spawn skips exec and
// package init. A pooled child still gets its own name, arguments and
// scoped credentials when taken, and exits when the parent does.
package spawn
