// Package bgkittest makes bgkit services easy to use from go test, the
// way net/http/httptest does for HTTP handlers: each piece of set-up is one
// line, everything is torn down by t.Cleanup, and what the children said is
// part of the test's output.
//
// # Bus and services
//
// [Bus] starts an embedded bus on a random port and closes it when the test
// ends. [Spawn] runs a service as a child process and returns a [Child]:
// its [spawn.Handle] and the recorder of its logs. Spawn fails the test
// with the start error if the child cannot start, terminates the child when
// the test ends, and fails the test if the child crashed meanwhile (exit
// status and the tail of its stderr) or did not stop cleanly:
//
//	b := bgkittest.Bus(t)
//	c := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 2})
//	ctl, err := controller.Connect(t.Context(), b, c.ServiceName())
//
// [Serve] serves a service in this process instead — no child process —
// for fast unit tests of its methods; the server's own records go to the
// test's output.
//
// # Logs
//
// Every record a child logs, and every line it writes to stdout or stderr,
// becomes one line of the test's output, in order with the test's own
// t.Log lines, so go test -v and a failing test show what each child said:
//
//	COUNTER_SERVICE INFO counter ready start=0 step=2 pid=4242
//
// A record travels on the child's log subject and a reply on its own, so a
// record the child logged while serving a call can reach the test after
// the reply — and after a t.Fatalf that the reply led to. Once the test has
// failed, such records are not printed loose after the failure: Spawn's
// cleanup collects those still in transit and shows them together, under
// a line that says they arrived after the failure, before the child's
// shutdown records. A record that arrives while t.Fatalf runs (it writes
// its message before it marks the test failed) is caught too: a line is
// written only once it has settled, 25 ms after it arrived, or at once
// when Spawn returns or the test is handed its record ([LogRecorder.Wait],
// [LogRecorder.Records]). So a child's line can follow a t.Log that the
// test wrote within those 25 ms; a test that cares for the order waits for
// the record first.
//
// [Child.Logs] returns the records of a spawned child for assertions.
// [LogRecorder.WaitFor] waits, with a deadline, for a record that matches a
// predicate such as [Message], [Attr] or [Level] — no sleeps:
//
//	c.Logs().WaitFor(t, bgkittest.Message("counter ready"), 5*time.Second)
//
// [Events] records a service's events (service.Emit) the same way; wait with [EventRecorder.WaitFor] and [Topic].
//
// # TestMain
//
// [Main] is the whole TestMain of a package that spawns services. Register
// the constructors, then call it; it calls [spawn.Main] (so the test binary
// can be re-executed as a child) and runs the tests:
//
//	func TestMain(m *testing.M) {
//		spawn.Register(NewCounterService)
//		bgkittest.Main(m)
//	}
//
// A TestMain that also runs helper processes of its own calls spawn.Main
// first, then its helpers, then Main (a second spawn.Main in a parent
// returns at once).
//
// # Leaks
//
// After the tests, [Main] fails the run (non-zero exit, a report on
// stderr) when a child process of the test binary is still running — a
// [spawn.Handle] that was never terminated, an exec.Cmd never waited for,
// or a process left in the group of a child started by [Spawn] — and kills
// it. A never-terminated handle whose child served on a bus of [Bus] would
// exit by itself when the bus closes, so Bus's cleanup looks for such
// children before it closes the bus and fails the test, and Main reports
// them too. When every test passed it also fails the run for goroutines still
// running (go.uber.org/goleak); [IgnoreGoroutines] names goroutines to
// leave out.
package bgkittest
