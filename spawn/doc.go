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
// WARN; a line past 64 KiB is cut, with attribute truncated_bytes); a
// panic's trace becomes one ERROR record (up to 1 MiB, ended by a 250 ms
// pause). The parent reads both to their end whatever comes, so a child's
// writes there never block or fail.
//
// # Stopping
//
// [Handle.Terminate] sends SIGTERM (after the same request as a byte on
// the child's lifeline, which its poller reads sooner) and gives the child
// one budget, the grace period ([WithGrace], default 5 s): the child
// answers new calls 503, ends the ctx of calls in flight and waits for
// them, runs Shutdown with what is left, and flushes its logs, keeping a
// reserve of the budget for the flush and its exit; at the end of the
// budget the parent SIGKILLs the process group. A service whose methods
// honour ctx is never killed. Terminate returns after every record the
// child wrote has reached the parent. Once the child's end-of-log marker
// has come, the parent releases its bus (credentials, relay) while the
// child exits; after the exit it waits on events only (the status pipe,
// the end-of-log marker, the output pipes), within the same budget; a
// wait that gives up logs why (see wait.go).
//
// # Lifecycle events
//
// The parent (or the agent) of an instance publishes a [bus.LifeEvent] on
// life.<NAME>: started (id, pid, host) once it serves, exited (status,
// signal, error) as soon as the exit is observed, before its logs are
// drained, and restarting (attempt, backoff) under a restart policy.
//
// # No orphans
//
// A child holds the read end of a pipe whose write end only the parent
// has. When the parent dies — even by SIGKILL — the pipe reaches EOF and the
// child shuts down and kills its process group, grandchildren included,
// within 300 ms. A child on the embedded bus also stops when its connection
// drops. Whatever step the child is in when that happens (before, during or
// after Initialize, in Shutdown), it leaves through one exit path, which
// kills the group when the parent is gone.
//
// # Platforms
//
// Linux and macOS (any unix): process groups and the lifeline pipe work
// alike. Pdeathsig is not used (it would kill the child before it could
// kill its grandchildren); Wait uses a pidfd where the OS has one.
//
// # Warm pool
//
// [NewPool] keeps children exec'd and initialised, waiting for their
// bootstrap; [WithPool] makes Run take one, so a spawn skips exec and
// package init. A pooled child still gets its own name, arguments and
// scoped credentials when taken, and exits when the parent does. An idle
// pooled child keeps a TCP connection to the bus, renewed every second
// (the server drops one that has not logged in within 2 s), so that its
// dial skips the handshake; the pool refills once the spawn that took a
// child is done. A child exec'd afresh gets such a connection from its
// parent (fd 5) when the parent owns the embedded server.
package spawn
