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
