package bgkittest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// recordingTB is a testing.TB whose failures, cleanups and output are
// recorded rather than acted on, so a test can check what bgkittest reports.
// Everything else (Context, Helper, Name, ...) is the real test's.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
	out      lockedBuffer
}

func newRecordingTB(t *testing.T) *recordingTB { return &recordingTB{TB: t} }

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}
func (r *recordingTB) Output() io.Writer { return &r.out }

// errors returns the failures reported so far, joined by newlines.
func (r *recordingTB) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

// run calls f on a goroutine of its own, as testing does (Fatal ends it),
// and returns whether f returned normally.
func (r *recordingTB) run(f func(testing.TB)) (completed bool) {
	done := make(chan bool)
	go func() {
		ok := false
		defer func() { done <- ok }()
		f(r)
		ok = true
	}()
	return <-done
}

// finish runs the cleanups, last registered first.
func (r *recordingTB) finish() {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for _, f := range slices.Backward(cs) {
		f()
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSpawnCallAndLogs(t *testing.T) {
	b := bgkittest.Bus(t)
	rt := newRecordingTB(t)
	defer rt.finish()
	var h *bgkittest.Child
	if !rt.run(func(tb testing.TB) { h = bgkittest.Spawn(tb, b, NewProbeService, ProbeArgs{}) }) {
		t.Fatalf("Spawn failed the test: %s", rt.failures())
	}
	c, err := controller.Connect(t.Context(), b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), "say", "hello", nil); err != nil {
		t.Fatal(err)
	}
	logs := h.Logs()
	rec := logs.WaitFor(t, bgkittest.All(bgkittest.Message("hello"), bgkittest.Attr("k", "v"), bgkittest.Attr("req.n", 1)), 10*time.Second)
	for _, want := range []func(slog.Record) bool{
		bgkittest.Level(slog.LevelInfo),
		bgkittest.Attr("service", "PROBE_SERVICE"),
		bgkittest.Attr("pid", h.PID()),
	} {
		if !want(rec) {
			t.Errorf("record %v lacks the level, service or pid", rec)
		}
	}
	var msgs []string
	for _, r := range logs.Records() {
		msgs = append(msgs, r.Message)
	}
	if i, j := slices.Index(msgs, "probe ready"), slices.Index(msgs, "hello"); i < 0 || j < i {
		t.Errorf("records %q: want probe ready, then hello", msgs)
	}
	wantLine := fmt.Sprintf("PROBE_SERVICE INFO hello pid=%d k=v req.n=1\n", h.PID())
	if out := rt.out.String(); !strings.Contains(out, wantLine) {
		t.Errorf("test output:\n%s\nwant the line %q", out, wantLine)
	}

	rt.finish()
	if f := rt.failures(); f != "" {
		t.Errorf("a clean run failed the test: %s", f)
	}
	select {
	case <-h.Done():
	default:
		t.Error("the cleanup did not terminate the child")
	}
	if out := rt.out.String(); !strings.Contains(out, "PROBE_SERVICE INFO probe stopping") {
		t.Errorf("test output:\n%s\nwant the record Shutdown logged", out)
	}
}

// TestSpawnReports runs Spawn under a recording TB and checks what it
// reports for a child that cannot start, crashes, or fails to stop.
func TestSpawnReports(t *testing.T) {
	tests := []struct {
		name    string
		args    ProbeArgs
		crash   int // exit code the child crashes with during the test; 0: none
		wantErr string
		wantOut string // a line of the test's output
		fatal   bool   // Spawn itself fails the test
	}{
		{name: "clean", wantOut: `PROBE_SERVICE INFO probe stopping pid=\d+\n`},
		{name: "start fails", args: ProbeArgs{FailInit: "no ECU on the bench"}, fatal: true,
			wantErr: `^bgkittest.Spawn: spawn PROBE_SERVICE: start failed: initialize PROBE_SERVICE: no ECU on the bench`},
		{name: "crash", crash: 7, wantOut: `PROBE_SERVICE ERROR crashing on purpose pid=\d+ code=7\n`,
			wantErr: `^bgkittest: PROBE_SERVICE crashed during the test: PROBE_SERVICE \(pid \d+\): exit status 7; stderr: last words on stderr$`},
		// Its records may trail: spawn waits only 100 ms for the logs of a child
		// that exited non-zero.
		{name: "shutdown fails", args: ProbeArgs{FailShutdown: "disk full"},
			wantErr: `^bgkittest: PROBE_SERVICE did not stop cleanly: PROBE_SERVICE \(pid \d+\): exit status 1`},
	}
	b := bgkittest.Bus(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRecordingTB(t)
			defer rt.finish()
			var h *bgkittest.Child
			completed := rt.run(func(tb testing.TB) {
				h = bgkittest.Spawn(tb, b, NewProbeService, tt.args)
				if tt.crash != 0 {
					crash(tb, b, h, tt.crash)
				}
			})
			if completed == tt.fatal {
				t.Fatalf("test function completed = %v, want %v; failures: %s", completed, !tt.fatal, rt.failures())
			}
			rt.finish()
			got := rt.failures()
			switch {
			case tt.wantErr == "" && got != "":
				t.Errorf("failures: %s; want none", got)
			case tt.wantErr != "" && !regexp.MustCompile(tt.wantErr).MatchString(got):
				t.Errorf("failures: %q; want a match for %q", got, tt.wantErr)
			}
			if out := rt.out.String(); !regexp.MustCompile(tt.wantOut).MatchString(out) {
				t.Errorf("test output:\n%s\nwant a match for %q", out, tt.wantOut)
			}
			if h != nil {
				select {
				case <-h.Done():
				default:
					t.Error("the child is still running after the cleanup")
				}
			}
		})
	}
}

// helperEnv names the helper test a sub-process runs.
const helperEnv = "BGKITTEST_HELPER"

// runHelper runs the helper test name in a new process of this test binary
// and returns its output and exit code.
func runHelper(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"-test.run=^" + name + "$", "-test.count=1"}, args...)...)
	// No second of sleep at exit in a race-enabled binary.
	cmd.Env = append(os.Environ(), helperEnv+"="+name, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	var xe *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &xe) && ctx.Err() == nil:
		return string(out), xe.ExitCode()
	}
	t.Fatalf("run %s: %v\n%s", name, err, out)
	return "", 0
}

// TestSpawnCrashFailsTest checks, in a process of its own, that a child
// crashing during a test fails it, and that the output shows what the
// child said and why it failed.
func TestSpawnCrashFailsTest(t *testing.T) {
	src, err := os.ReadFile("spawn_test.go")
	if err != nil {
		t.Fatal(err)
	}
	spawnLine := 1 + bytes.Count(src[:bytes.LastIndex(src, []byte("// the crash report points here"))], []byte("\n"))
	out, code := runHelper(t, "TestHelperCrash")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	// Each step's lines appear after the previous step's, in any order
	// within the step: a record and a stderr line travel different ways.
	pos := 0
	for _, step := range [][]string{
		{`--- FAIL: TestHelperCrash`},
		{`\n    PROBE_SERVICE INFO probe ready pid=\d+\n`},
		{`\n    spawn_test.go:\d+: crashing the probe\n`},
		{`\n    PROBE_SERVICE ERROR crashing on purpose pid=\d+ code=7\n`,
			`\n    PROBE_SERVICE WARN last words on stderr pid=\d+ stream=stderr\n`},
		{`\n    spawn_test.go:` + strconv.Itoa(spawnLine) + `: bgkittest: PROBE_SERVICE crashed during the test: PROBE_SERVICE \(pid \d+\): exit status 7; stderr: last words on stderr\n`},
		{`\nFAIL\n`},
	} {
		end := pos
		for _, want := range step {
			loc := regexp.MustCompile(want).FindStringIndex(out[pos:])
			if loc == nil {
				t.Fatalf("output of the failing test:\n%s\nwant, after byte %d, a match for %q", out, pos, want)
			}
			end = max(end, pos+loc[1]-1) // the next match may start at this one's newline
		}
		pos = end
	}
}

func TestHelperCrash(t *testing.T) {
	if os.Getenv(helperEnv) != t.Name() {
		t.Skip("run by TestSpawnCrashFailsTest in a process of its own")
	}
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewProbeService, ProbeArgs{}) // the crash report points here
	// The record of the child's start travels apart from its readiness:
	// wait for it, so that it is in the output before the test's line.
	h.Logs().WaitFor(t, bgkittest.Message("probe ready"), 10*time.Second)
	t.Log("crashing the probe")
	crash(t, b, h, 7)
}

// TestMainReportsLeaks checks, in a process of its own, that Main fails a
// passing run that leaves a child process and goroutines behind, names
// them, and kills the processes.
func TestMainReportsLeaks(t *testing.T) {
	out, code := runHelper(t, "TestHelperLeak", "-test.v")
	var pids []int
	for _, m := range regexp.MustCompile(`leaked (?:sleep|child) pid=(\d+)`).FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	defer func() {
		for _, pid := range pids {
			if !bgkittest.AwaitExit(pid, 5*time.Second) {
				t.Errorf("leaked process %d is still running: killing it", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	if len(pids) != 2 {
		t.Fatalf("output:\n%s\nwant the pids of the sleep and the child", out)
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		`--- PASS: TestHelperLeak`,
		`bgkittest: 2 child process\(es\) still running after the tests \(killing them now\):`,
		fmt.Sprintf(`\tpid %d \(parent \d+, group \d+\): sleep 30\n`, pids[0]),
		fmt.Sprintf(`\tpid %d \(parent \d+, group %[1]d\): \S+ bgkit-child LEAKY_PROBE\n`, pids[1]),
		`bgkittest: goroutines still running after the tests: found unexpected goroutines:`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output:\n%s\nwant a match for %q", out, want)
		}
	}
}

func TestHelperLeak(t *testing.T) {
	if os.Getenv(helperEnv) != t.Name() {
		t.Skip("run by TestMainReportsLeaks in a process of its own")
	}
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("leaked sleep pid=%d", sleep.Process.Pid)
	quiet := slog.New(slog.DiscardHandler)
	b, err := bus.Start(t.Context(), bus.WithLogger(quiet)) // never closed
	if err != nil {
		t.Fatal(err)
	}
	h, err := spawn.Run(t.Context(), b, NewProbeService, ProbeArgs{}, spawn.WithName("LEAKY_PROBE"), spawn.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leaked child pid=%d", h.PID())
}

// TestMainReportsUnterminatedHandle checks, in a process of its own, that
// a spawn.Handle the test never terminated fails the run, even though its
// child exits by itself once the bus it served on is closed.
func TestMainReportsUnterminatedHandle(t *testing.T) {
	out, code := runHelper(t, "TestHelperUnterminated", "-test.v")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	m := regexp.MustCompile(`unterminated child pid=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output:\n%s\nwant the child's pid", out)
	}
	for _, want := range []string{
		`bgkittest: UNTERMINATED_PROBE \(pid ` + m[1] + `\) was still running when its bus closed: terminate every spawn.Handle \(or use bgkittest.Spawn\)`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output:\n%s\nwant a match for %q", out, want)
		}
	}
}

func TestHelperUnterminated(t *testing.T) {
	if os.Getenv(helperEnv) != t.Name() {
		t.Skip("run by TestMainReportsUnterminatedHandle in a process of its own")
	}
	b := bgkittest.Bus(t)
	h, err := spawn.Run(t.Context(), b, NewProbeService, ProbeArgs{}, spawn.WithName("UNTERMINATED_PROBE"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unterminated child pid=%d", h.PID())
}

// TestSpawnRecordsAfterFailure checks, in a process of its own, that a
// record the child logged while serving a call, which reaches the parent
// after the reply and so after the t.Fatalf that followed it, is not
// printed loose after the failure: it is shown under a heading that says
// it arrived after the failure, before the child's shutdown records.
func TestSpawnRecordsAfterFailure(t *testing.T) {
	out, code := runHelper(t, "TestHelperFailAfterCall", "-test.v")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	pos := 0
	for _, want := range []string{
		`\n    PROBE_SERVICE INFO probe ready pid=\d+\n`,
		`\n    spawn_test.go:\d+: failing right after the call\n`,
		// The record of the call: held until the test's cleanup, then shown
		// under the heading (unless it arrived before the failure).
		`(?:\n    bgkittest: 1 record\(s\) of PROBE_SERVICE reached the test after it had failed; they may explain the failure:\n      PROBE_SERVICE INFO about to fail pid=\d+ k=v req.n=1\n|^)`,
		`\n    PROBE_SERVICE INFO probe stopping pid=\d+\n`,
		`\n--- FAIL: TestHelperFailAfterCall`,
	} {
		loc := regexp.MustCompile(want).FindStringIndex(out[pos:])
		if loc == nil {
			t.Fatalf("output:\n%s\nwant, after byte %d, a match for %q", out, pos, want)
		}
		pos += max(loc[1]-1, 0)
	}
	// Whichever way it came, the record is shown exactly once, and never
	// loose between the failure and the heading or after the heading's block.
	if n := strings.Count(out, "INFO about to fail"); n != 1 {
		t.Fatalf("output:\n%s\nthe record of the call shown %d times", out, n)
	}
	fail := strings.Index(out, "failing right after the call")
	rec := strings.Index(out, "INFO about to fail")
	if rec > fail && !strings.Contains(out[fail:rec], "reached the test after it had failed") {
		t.Fatalf("output:\n%s\nthe record of the call follows the failure without the heading", out)
	}
}

func TestHelperFailAfterCall(t *testing.T) {
	if os.Getenv(helperEnv) != t.Name() {
		t.Skip("run by TestSpawnRecordsAfterFailure in a process of its own")
	}
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewProbeService, ProbeArgs{})
	// The record of the child's start travels apart from its readiness:
	// wait for it, so that it is in the output before the failure.
	h.Logs().WaitFor(t, bgkittest.Message("probe ready"), 10*time.Second)
	c, err := controller.Connect(t.Context(), b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), "say", "about to fail", nil); err == nil {
		t.Fatalf("failing right after the call")
	}
}
