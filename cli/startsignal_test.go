package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSIGINTStopsEveryChild: Ctrl-C (SIGINT) stops up with exit 0,
// and no service process outlives it.
func TestSIGINTStopsEveryChild(t *testing.T) {
	bin := buildBgkit(t)
	rigFile := filepath.Join(t.TempDir(), "rig.yaml")
	os.WriteFile(rigFile, []byte("services:\n  - kind: ecu-sim\n    args: {bus: \"virtual:r1\"}\n  - kind: tester-present\n    args: {bus: \"virtual:r1\", interval_ms: 100, autostart: true}\n"), 0o644)
	up := startUp(t, bin, "up", "--no-color", rigFile)
	up.waitLog(t, "rig up")
	out, code := up.run(t, "ls", "--json")
	var rows []serviceRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 2 {
		t.Fatalf("ls --json: %d %v %q", code, err, out)
	}
	if code := up.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("up after SIGINT: exit %d", code)
	}
	for _, r := range rows {
		if err := syscall.Kill(r.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) outlived up: kill 0 = %v", r.Name, r.PID, err)
		}
	}
}

// TestSIGINTWhileStarting: Ctrl-C while the rig is still starting
// exits 0 too (the exit-status table), leaving nothing running.
func TestSIGINTWhileStarting(t *testing.T) {
	bin := buildBgkit(t)
	rigFile := filepath.Join(t.TempDir(), "rig.yaml")
	os.WriteFile(rigFile, []byte("services:\n  - kind: ecu-sim\n    args: {bus: \"virtual:r2\"}\n  - kind: ecu-sim\n    name: ECU_B\n    args: {bus: \"virtual:r2\"}\n  - kind: ecu-sim\n    name: ECU_C\n    args: {bus: \"virtual:r2\"}\n"), 0o644)
	up := startUp(t, bin, "up", "--no-color", rigFile)
	up.waitLog(t, "service started") // the first of three
	start := time.Now()
	if code := up.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("up after SIGINT while starting: exit %d (after %v)", code, time.Since(start))
	}
}
