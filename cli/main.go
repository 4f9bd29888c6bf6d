package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bgkit/bgkit/spawn"
)

// Main runs the bgkit command line with os.Args and exits the process. It
// calls spawn.Main first, so every kind registered before it (with
// spawn.RegisterKind) can run from rig files and `bgkit run`, in this binary
// or its children:
//
//	func main() {
//		services.RegisterAll()
//		spawn.RegisterKind("my-kind", mypkg.NewMyService)
//		cli.Main()
//	}
func Main() {
	spawn.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Run is the whole command line (args without the program name), testable
// in-process. Its error maps to the exit status as Main does: nil 0, a usage
// error 2, anything else 1.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return run(ctx, args, stdout, stderr)
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct {
	msg string
	cmd string // the command whose --help the hint names; "" for bgkit help
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// exitCode prints err and maps it to the exit status: 0 ok, 2 usage, 1 the rest.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "bgkit:", ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(stderr, "Run 'bgkit %s --help' for usage.\n", ue.cmd)
		} else {
			fmt.Fprintln(stderr, "Run 'bgkit help' for usage.")
		}
		return 2
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "bgkit:", err)
	return 1
}

var errHelp = errors.New("help shown")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"up", "start a rig: the bus and the services of a rig file", runUp},
		{"run", "run one service of a registered kind and relay its logs", runRun},
		{"call", "call a method of a service and print the reply", runCall},
		{"ls", "list running services", runLs},
		{"logs", "follow the logs of one or all services", runLogs},
		{"events", "follow the events and lifecycle changes of one or all services", runEvents},
		{"kinds", "list the registered service kinds and their arguments", runKinds},
		{"can", "dump a CAN bus (decoded with a DBC) or send a frame", runCAN},
		{"describe", "show a running service's methods, inputs and outputs", runDescribe},
		{"agent", "spawn services on this machine for a rig that spans several", runAgent},
	}
}

// run is the whole command line, testable in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command")
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		printUsage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, args[1:], stdout, stderr)
			if errors.Is(err, errHelp) {
				return nil
			}
			var ue *usageError
			if errors.As(err, &ue) && ue.cmd == "" {
				ue.cmd = name
			}
			return err
		}
	}
	return usagef("unknown command %q", name)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `bgkit runs the background services of a test rig and talks to them.

Usage:
  bgkit <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command joins the bus named by --server or $NATS_URL, except up,
which starts an embedded bus unless --server names one. run starts an
embedded bus too when neither is set. up and run print a NATS_URL=... line
for other shells.

Exit status: 0 success (up and run: stopped by Ctrl-C or SIGTERM), 2 usage
error, 1 anything else (call: a service error).

Examples:
  bgkit up examples/demo.yaml
  bgkit call ECU_SIM_SERVICE session
  bgkit call TESTER_PRESENT_SERVICE set_interval 500
  bgkit logs
  bgkit events ECU_SIM_SERVICE
  nats req svc.TESTER_PRESENT_SERVICE.stats ''

Run 'bgkit <command> --help' for a command's flags.
`)
}
