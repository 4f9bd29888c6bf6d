package bgkittest

import (
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/spawn"
)

// MainOption configures Main.
type MainOption func(*mainConfig)

type mainConfig struct {
	goleak []goleak.Option
}

// IgnoreGoroutines passes options such as goleak.IgnoreTopFunction to the
// goroutine check, for goroutines the tests leave running on purpose.
func IgnoreGoroutines(opts ...goleak.Option) MainOption {
	return func(c *mainConfig) { c.goleak = append(c.goleak, opts...) }
}

// exitGrace is how long Main waits for processes that are already dying
// (a grandchild killed with its group) before it calls them leaked.
const exitGrace = time.Second

// Main is the TestMain of a package that spawns services; call it after
// spawn.Register:
//
//	func TestMain(m *testing.M) {
//		spawn.Register(NewCounterService)
//		bgkittest.Main(m)
//	}
//
// It calls [spawn.Main] (in a child, that serves the service and never
// returns), then m.Run. After the run it looks for leaks and exits with
// m.Run's code, or 1 when the tests passed but something leaked:
//
//   - child processes of the test binary still running, and processes left
//     in the process group of a child started by [Spawn]: each is reported
//     on stderr (pid, parent, group, command line) and killed;
//   - children that still served on a bus of [Bus] when its cleanup closed
//     it — a spawn.Handle never terminated, whose child would otherwise
//     exit unnoticed with the bus (the test that owned the bus failed too);
//   - goroutines still running that were not running before the tests
//     (go.uber.org/goleak), when every test passed.
func Main(m *testing.M, opts ...MainOption) {
	spawn.Main()
	var cfg mainConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	gopts := append([]goleak.Option{goleak.IgnoreCurrent()}, cfg.goleak...)
	code := m.Run()
	var report strings.Builder
	unterminatedReports.Lock()
	for _, l := range unterminatedReports.lines {
		report.WriteString(l + "\n")
	}
	unterminatedReports.Unlock()
	if procs := leakedProcesses(); len(procs) > 0 {
		fmt.Fprintf(&report, "bgkittest: %d child process(es) still running after the tests (killing them now):\n", len(procs))
		for _, p := range procs {
			fmt.Fprintf(&report, "\t%s\n", p)
			p.kill()
		}
		report.WriteString("bgkittest: terminate every spawn.Handle (or use bgkittest.Spawn) and wait for every exec.Cmd\n")
	}
	if code == 0 {
		if err := goleak.Find(gopts...); err != nil {
			fmt.Fprintf(&report, "bgkittest: goroutines still running after the tests: %v\n", err)
		}
	}
	if report.Len() > 0 {
		fmt.Fprint(os.Stderr, report.String())
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// leakedProcesses lists the live children of this process and the live
// processes in the groups of children started by Spawn, after giving those
// that are already exiting exitGrace to go.
func leakedProcesses() []process {
	spawned.Lock()
	groups := maps.Clone(spawned.groups)
	spawned.Unlock()
	procs, err := ownedProcesses(os.Getpid(), groups)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bgkittest: cannot check for leaked processes: %v\n", err)
		return nil
	}
	deadline := time.Now().Add(exitGrace)
	var alive []process
	for _, p := range procs {
		if !awaitExit(p.pid, time.Until(deadline)) {
			alive = append(alive, p)
		}
	}
	return alive
}
