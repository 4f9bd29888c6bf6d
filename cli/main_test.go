package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/services"
	"github.com/bgkit/bgkit/spawn"
)

func TestMain(m *testing.M) {
	services.RegisterAll()
	spawn.Main()
	code := m.Run()
	removeBgkitBinary()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runCLI runs the command line in-process.
func runCLI(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb strings.Builder
	err := run(ctx, args, &out, &errb)
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestUsage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"help"}, 0, "Commands:"},
		{"no command", nil, 2, "no command"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"call help", []string{"call", "--help"}, 0, "Examples:"},
		{"help call", []string{"help", "call"}, 0, "bgkit call"},
		{"call too few", []string{"call", "X"}, 2, "NAME, method"},
		{"call bad JSON", []string{"call", "--server", "nats://127.0.0.1:1", "X", "m", "{bad"}, 2, "not valid JSON"},
		{"call no bus", []string{"call", "X", "m"}, 2, "no bus"},
		{"run no kind", []string{"run"}, 2, "run needs a kind"},
		{"run bad args", []string{"run", "tester-present", "--args", `{"interval_ms": -5}`}, 2, "interval_ms"},
		{"bad flag", []string{"ls", "--nope"}, 2, "bgkit: ls: flag provided but not defined: -nope\nRun 'bgkit ls --help' for usage.\n"},
		{"call too few is short", []string{"call", "X"}, 2, "bgkit: call takes NAME, method and an optional JSON input\nRun 'bgkit call --help' for usage.\n"},
		{"logs two names", []string{"logs", "A", "B"}, 2, "at most one service NAME"},
		{"logs negative n", []string{"logs", "-n", "-1"}, 2, "must not be negative"},
		{"bad level", []string{"logs", "--log-level", "loud"}, 2, "bad --log-level"},
		{"kinds", []string{"kinds"}, 0, "tester-present"},
		{"agent no name", []string{"agent"}, 2, "agent needs --name"},
		{"agent no bus", []string{"agent", "--name", "box"}, 2, "no bus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NATS_URL", "")
			out, errOut, code := runCLI(t, ctx, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errOut, tc.want)
			}
			// A usage error is the reason and a hint, not the flag list.
			if code == 2 && (strings.Contains(errOut, "Flags:") || strings.Count(errOut, "\n") > 2) {
				t.Fatalf("usage error printed more than the reason and a hint:\n%s", errOut)
			}
		})
	}
}

func TestRigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown kind", "services:\n  - kind: flux-capacitor\n", "rig.yaml:2: services[0].kind: unknown kind \"flux-capacitor\""},
		{"unknown field", "services:\n  - kind: ecu-sim\n    args:\n      bus: virtual:bus0\n      colour: red\n", "rig.yaml:5: services[0].args.colour: unknown argument for kind ecu-sim"},
		{"failed validation", "services:\n  - kind: tester-present\n    args:\n      bus: virtual:bus0\n      interval_ms: -1\n", "rig.yaml:5: services[0].args.interval_ms: must be at least 0, got -1"},
		{"wrong type", "services:\n  - kind: tester-present\n    args:\n      interval_ms: soon\n", `rig.yaml:4: services[0].args.interval_ms: must be a number, got string "soon"`},
		{"duplicate name", "services:\n  - kind: ecu-sim\n  - kind: ecu-sim\n", "rig.yaml:3: services[1]: service name ECU_SIM_SERVICE is already used at line 2"},
		{"unknown key", "services:\n  - kind: ecu-sim\n    argz: {}\n", "rig.yaml:3: services[0].argz: unknown key"},
		{"top level", "servces: []\n", "rig.yaml:1: servces: unknown key"},
		{"bad name", "services:\n  - kind: ecu-sim\n    name: a.b\n", "rig.yaml:3: services[0].name"},
		{"bad yaml", "services: [\n", "rig.yaml:1: bad YAML:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRig("rig.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
		})
	}
	r, err := parseRig("ok.yaml", []byte("services:\n  - kind: ecu-sim\n    name: ECU_A\n    grace: 2s\n    args: {s3_ms: 300, tx_id: 0x7E8}\n  - kind: ecu-sim\n    name: ECU_B\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.services) != 2 || r.services[0].grace != 2*time.Second || !strings.Contains(string(r.services[0].args), `"tx_id":2024`) {
		t.Fatalf("rig = %+v", r.services)
	}
}

func TestDemoRigParses(t *testing.T) {
	if _, err := loadRig(filepath.Join("..", "examples", "demo.yaml")); err != nil {
		t.Fatal(err)
	}
}

// lineWriter hands complete lines to a channel as they are written.
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		select {
		case w.lines <- s[:i]:
		default:
		}
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
	return len(p), nil
}

func waitLine(t *testing.T, lines chan string, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line starting %q", prefix)
		}
	}
}

// TestUpCallLsInProcess runs `up` with a rig, then `call`, `ls` and `logs`
// against it, all in-process, and stops it by cancelling its ctx.
func TestUpCallLsInProcess(t *testing.T) {
	rigFile := filepath.Join(t.TempDir(), "rig.yaml")
	os.WriteFile(rigFile, []byte("services:\n  - kind: ecu-sim\n    args: {bus: \"virtual:t1\", s3_ms: 5000}\n  - kind: tester-present\n    args: {bus: \"virtual:t1\"}\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lineWriter{lines: make(chan string, 100)}
	stderr := &lineWriter{lines: make(chan string, 1000)}
	upDone := make(chan error, 1)
	go func() { upDone <- run(ctx, []string{"up", "--no-color", rigFile}, stdout, stderr) }()
	url := strings.TrimPrefix(waitLine(t, stdout.lines, "NATS_URL="), "NATS_URL=")
	waitLine(t, stderr.lines, "time=")
	for {
		l := <-stderr.lines
		if strings.Contains(l, "rig up") {
			break
		}
	}
	out, errOut, code := runCLI(t, context.Background(), "call", "--server", url, "ECU_SIM_SERVICE", "session")
	if code != 0 || !strings.Contains(out, `"session": 1`) {
		t.Fatalf("call session: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, context.Background(), "call", "--server", url, "ECU_SIM_SERVICE", "nope")
	if code != 1 || !strings.Contains(errOut, "error 404") {
		t.Fatalf("call nope: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, context.Background(), "call", "--server", url, "NOBODY", "x")
	if code != 1 || !strings.Contains(errOut, "no service") {
		t.Fatalf("call NOBODY: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("NATS_URL", url)
	out, errOut, code = runCLI(t, context.Background(), "ls")
	if code != 0 || !strings.Contains(out, "ECU_SIM_SERVICE") || !strings.Contains(out, "PID") {
		t.Fatalf("ls: exit %d\n%s%s", code, out, errOut)
	}
	// ls --json gives each pid as a number.
	out, errOut, code = runCLI(t, context.Background(), "ls", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 2 {
		t.Fatalf("ls --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	for _, r := range rows {
		if pid, ok := r["pid"].(float64); !ok || pid <= 0 {
			t.Fatalf("ls --json: pid %#v, want a number", r["pid"])
		}
	}
	// logs first shows what a quiet service said before it started: the
	// ECU simulator logged its start and nothing since. Durations read
	// as durations, empty attributes are left out.
	recent := func(until string, args ...string) []string {
		t.Helper()
		lctx, stop := context.WithCancel(context.Background())
		defer stop()
		lw := &lineWriter{lines: make(chan string, 1000)}
		done := make(chan error, 1)
		go func() { done <- run(lctx, append([]string{"logs", "--no-color"}, args...), lw, io.Discard) }()
		var got []string
		for {
			select {
			case l := <-lw.lines:
				got = append(got, l)
				if !strings.Contains(l, until) {
					continue
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("logs %v printed %q, no %q", args, got, until)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatalf("logs %v: %v", args, err)
			}
			return got
		}
	}
	got := recent("ECU simulator ready", "ECU_SIM_SERVICE")
	last := got[len(got)-1]
	if !strings.Contains(last, "s3=5s") || strings.Contains(last, `doip_address=""`) || !strings.Contains(last, "service=ECU_SIM_SERVICE") {
		t.Fatalf("recent ECU record %q: want s3=5s, no empty doip_address", last)
	}
	if got := recent("tester present ready", "--since", "10m"); !strings.Contains(got[0], "ECU simulator ready") {
		t.Fatalf("logs --since 10m showed %q; want the records of both services", got)
	}
	if got := recent("ECU simulator ready", "-n", "1", "ECU_SIM_SERVICE"); len(got) != 1 {
		t.Fatalf("logs -n 1 showed %q", got)
	}
	// logs follows the services' records, formatted like up's own log.
	logsCtx, stopLogs := context.WithCancel(context.Background())
	logsOut := &lineWriter{lines: make(chan string, 1000)}
	logsDone := make(chan error, 1)
	go func() {
		logsDone <- run(logsCtx, []string{"logs", "-n", "0", "--no-color", "TESTER_PRESENT_SERVICE"}, logsOut, io.Discard)
	}()
	// The subscription is up once an earlier record would show: call until
	// the start record of a second start shows (start is idempotent).
	deadline := time.After(30 * time.Second)
	for found := false; !found; {
		if _, errOut, code := runCLI(t, context.Background(), "call", "TESTER_PRESENT_SERVICE", "start"); code != 0 {
			t.Fatalf("call start: %s", errOut)
		}
		runCLI(t, context.Background(), "call", "TESTER_PRESENT_SERVICE", "stop")
		select {
		case l := <-logsOut.lines:
			found = strings.Contains(l, "service=TESTER_PRESENT_SERVICE") && strings.Contains(l, "level=INFO")
			if !found {
				t.Fatalf("logs printed %q", l)
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("logs printed nothing")
		}
	}
	stopLogs()
	if err := <-logsDone; err != nil {
		t.Fatalf("logs returned %v", err)
	}
	cancel()
	select {
	case err := <-upDone:
		if err != nil {
			t.Fatalf("up returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("up did not stop")
	}
}

// TestBinary builds bgkit and drives it as a user would: up in one process,
// call and logs from others, SIGTERM stops up with exit status 0.
func TestBinary(t *testing.T) {
	bin := buildBgkit(t)
	rigFile := filepath.Join(t.TempDir(), "rig.yaml")
	os.WriteFile(rigFile, []byte("services:\n  - kind: ecu-sim\n    args: {bus: \"virtual:t2\"}\n  - kind: tester-present\n    args: {bus: \"virtual:t2\", interval_ms: 100, autostart: true}\n"), 0o644)
	up := startUp(t, bin, "up", rigFile)
	up.waitLog(t, "rig up")
	if out, code := up.run(t, "call", "TESTER_PRESENT_SERVICE", "is_running"); code != 0 || strings.TrimSpace(out) != "true" {
		t.Fatalf("is_running: %d %q", code, out)
	}
	if out, code := up.run(t, "call", "TESTER_PRESENT_SERVICE", "set_interval", `"fast"`); code != 1 || !strings.Contains(out, "error 400") {
		t.Fatalf("set_interval \"fast\": %d %q", code, out)
	}
	if out, code := up.run(t, "call"); code != 2 {
		t.Fatalf("call without args: %d %q", code, out)
	}
	if code := up.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("up after SIGTERM: exit %d", code)
	}
}

// TestHelpIsHonest: the help says which commands use $NATS_URL as they do.
func TestHelpIsHonest(t *testing.T) {
	out, _, _ := runCLI(t, context.Background(), "help")
	if strings.Contains(out, "but up and run") || !strings.Contains(out, "run starts an") {
		t.Fatalf("top help about $NATS_URL:\n%s", out)
	}
	out, _, code := runCLI(t, context.Background(), "up", "--help")
	if code != 0 || strings.Contains(out, "default $NATS_URL") || !strings.Contains(out, "$NATS_URL is not used") {
		t.Fatalf("up --help (exit %d):\n%s", code, out)
	}
	out, _, _ = runCLI(t, context.Background(), "ls", "--help")
	if !strings.Contains(out, "default $NATS_URL") {
		t.Fatalf("ls --help:\n%s", out)
	}
}

// TestUpIgnoresNATSURL: up starts its own bus even with $NATS_URL set (to
// a bus that does not exist), as its help says.
func TestUpIgnoresNATSURL(t *testing.T) {
	t.Setenv("NATS_URL", "nats://127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lineWriter{lines: make(chan string, 10)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"up", "--no-color"}, stdout, io.Discard) }()
	select {
	case l := <-stdout.lines:
		if !strings.HasPrefix(l, "NATS_URL=nats://") || strings.Contains(l, "127.0.0.1:1\n") {
			t.Fatalf("up printed %q", l)
		}
	case err := <-done:
		t.Fatalf("up returned %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
