package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/services"
	"github.com/bgkit/bgkit/spawn"
)

func TestMain(m *testing.M) {
	services.RegisterAll()
	spawn.Main()
	os.Exit(m.Run())
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
		{"bad flag", []string{"ls", "--nope"}, 2, "flag provided but not defined"},
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
	// logs follows the services' records, formatted like up's own log.
	logsCtx, stopLogs := context.WithCancel(context.Background())
	logsOut := &lineWriter{lines: make(chan string, 1000)}
	logsDone := make(chan error, 1)
	go func() {
		logsDone <- run(logsCtx, []string{"logs", "--no-color", "TESTER_PRESENT_SERVICE"}, logsOut, io.Discard)
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
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "bgkit")
	build := exec.Command("go", "build", "-o", bin, "../cmd/bgkit")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rigFile := filepath.Join(t.TempDir(), "rig.yaml")
	os.WriteFile(rigFile, []byte("services:\n  - kind: ecu-sim\n    args: {bus: \"virtual:t2\"}\n  - kind: tester-present\n    args: {bus: \"virtual:t2\", interval_ms: 100, autostart: true}\n"), 0o644)
	up := exec.Command(bin, "up", rigFile)
	stdout, _ := up.StdoutPipe()
	stderrR, stderrW := io.Pipe()
	up.Stderr = stderrW
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	defer up.Process.Kill()
	logLines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderrR)
		for sc.Scan() {
			select {
			case logLines <- sc.Text():
			default:
			}
		}
	}()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "NATS_URL=") {
		t.Fatalf("first line %q", sc.Text())
	}
	env := append(os.Environ(), sc.Text())
	waitLine(t, logLines, "") // logs flow
	for l := range logLines {
		if strings.Contains(l, "rig up") {
			break
		}
	}
	call := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := call("call", "TESTER_PRESENT_SERVICE", "is_running"); code != 0 || strings.TrimSpace(out) != "true" {
		t.Fatalf("is_running: %d %q", code, out)
	}
	if out, code := call("call", "TESTER_PRESENT_SERVICE", "set_interval", `"fast"`); code != 1 || !strings.Contains(out, "error 400") {
		t.Fatalf("set_interval \"fast\": %d %q", code, out)
	}
	if out, code := call("call"); code != 2 {
		t.Fatalf("call without args: %d %q", code, out)
	}
	if err := up.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := up.Wait()
	stderrW.Close()
	if err != nil {
		t.Fatalf("up after SIGTERM: %v", err)
	}
}
