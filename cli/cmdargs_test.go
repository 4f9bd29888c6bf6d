package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
)

// TestLsJSONEmpty: with no service on the bus, ls --json is an
// empty list, so that the help's `bgkit ls --json | jq '.[].name'` prints
// nothing instead of failing on null.
func TestLsJSONEmpty(t *testing.T) {
	b := bgkittest.Bus(t)
	out, errOut, code := runCLI(t, context.Background(), "ls", "--json", "--server", b.Credentials().ShareURL())
	var rows []serviceRow
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || rows == nil {
		t.Fatalf("ls --json = exit %d, %q (want [])\n%s", code, out, errOut)
	}
}

// TestRunRefusesExtraArguments: an argument run does not take is a
// usage error, not ignored: `bgkit run tester-present '{"interval_ms":500}'`
// (--args forgotten) would run the service with its defaults, and a flag
// after such an argument would not be parsed at all.
func TestRunRefusesExtraArguments(t *testing.T) {
	t.Setenv("NATS_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // should it start anything, it stops at once
	for _, args := range [][]string{
		{"run", "kinds-test", `{"listen":"x"}`},
		{"run", "kinds-test", "extra", "--args", `{"interval_ms":-5}`},
		{"run", "--name", "X", "kinds-test", "extra"},
	} {
		_, errOut, code := runCLI(t, ctx, args...)
		if code != 2 || !strings.Contains(errOut, "run takes one kind") {
			t.Errorf("%q: exit %d, want 2 (a usage error)\n%s", args, code, errOut)
		}
	}
}

// TestCallBadNameIsUsage: a NAME that cannot be a service name is a
// usage error (exit 2), as it is for logs, events and describe.
func TestCallBadNameIsUsage(t *testing.T) {
	b := bgkittest.Bus(t)
	_, errOut, code := runCLI(t, context.Background(), "call", "--server", b.Credentials().ShareURL(), "ECU.SIM", "session")
	if code != 2 {
		t.Fatalf("call ECU.SIM: exit %d, want 2\n%s", code, errOut)
	}
}

// TestCtrlCWhileStarting: Ctrl-C (ctx ending) while up is still
// starting its services stops the rig and exits 0, as the exit-status
// table says for up stopped by Ctrl-C, not 1 with "context canceled".
func TestCtrlCWhileStarting(t *testing.T) {
	rigFile := t.TempDir() + "/rig.yaml"
	if err := os.WriteFile(rigFile, []byte("services:\n  - kind: kinds-test\n    args: {listen: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"up", "--no-color", rigFile},
		{"run", "--no-color", "kinds-test", "--args", `{"listen":"x"}`},
	} {
		_, errOut, code := runCLI(t, ctx, args...)
		if code != 0 || strings.Contains(errOut, "bgkit: ") {
			t.Errorf("%s stopped while starting: exit %d, want 0\n%s", args[0], code, errOut)
		}
	}
}

// TestRunFlagsAfterKind: flags after a kind that follows other
// flags are parsed, not dropped (--args was ignored: the defaults ran).
func TestRunFlagsAfterKind(t *testing.T) {
	t.Setenv("NATS_URL", "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // should it run, it stops
	defer cancel()
	_, errOut, code := runCLI(t, ctx, "run", "--no-color", "kinds-test", "--args", `{"interval_ms":-5}`)
	if code != 2 || !strings.Contains(errOut, "interval_ms: must be at least 0") {
		t.Fatalf("exit %d, want 2 with the --args error\n%s", code, errOut)
	}
}

// TestFlagsAfterPositionals: up, logs and events take their flags after
// their positional arguments too, as call, can and run do: `bgkit up
// rig.yaml --log-level debug` said "up takes at most one rig file, got 3
// arguments", `bgkit logs -n 0 NAME --since 1m` that logs takes one NAME.
func TestFlagsAfterPositionals(t *testing.T) {
	b := bgkittest.Bus(t)
	url := b.Credentials().ShareURL()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no connection: arguments taken get as far as the bus
	missing := t.TempDir() + "/missing.yaml"
	for _, c := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"up", missing, "--log-level", "debug"}, 1, "missing.yaml"},
		{[]string{"up", missing, "--log-level", "loud"}, 2, "loud"}, // the flag was read
		{[]string{"up", missing, "--", "-x"}, 2, "at most one rig file"},
		{[]string{"logs", "-n", "0", "ECU_SIM_SERVICE", "--since", "1m", "--server", url}, 1, "context canceled"},
		{[]string{"logs", "ECU_SIM_SERVICE", "OTHER", "--server", url}, 2, "at most one service NAME"},
		{[]string{"events", "ECU_SIM_SERVICE", "--json", "session_changed", "--server", url}, 1, "context canceled"},
		{[]string{"events", "A", "B", "C", "--server", url}, 2, "at most a service NAME and a TOPIC"},
	} {
		_, errOut, code := runCLI(t, ctx, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, want %d with %q\n%s", c.args, code, c.code, c.want, errOut)
		}
	}
}

// TestHelpOnStdout: help asked for is output (stdout, exit 0) for every
// command, as `bgkit help` is, so that `bgkit up --help | less` works; it
// went to stderr.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{"help"}, {"--help"}, {"help", "up"}, {"up", "--help"}, {"run", "-h"}, {"call", "--help"},
		{"ls", "--help"}, {"logs", "--help"}, {"events", "--help"}, {"describe", "--help"},
		{"kinds", "--help"}, {"agent", "--help"}, {"can", "--help"}, {"can", "dump", "--help"}, {"can", "send", "--help"},
	} {
		out, errOut, code := runCLI(t, context.Background(), args...)
		if code != 0 || !strings.Contains(out, "Usage") && !strings.Contains(out, "usage") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %d bytes, stderr %q", args, code, len(out), errOut)
		}
	}
}
