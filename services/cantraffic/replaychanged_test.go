package cantraffic

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReplayFileEmptiedSinceNew: the log had frames when New read
// it, and is empty when the run starts (a recorder restarted on the same
// path truncates it). A replay that loops forever must not spin through
// empty loops as fast as the CPU goes: the run ends with an error.
func TestReplayFileEmptiedSinceNew(t *testing.T) {
	path, _ := writeReplayLog(t)
	s, _ := hubServe(t, Args{Replay: &ReplayArgs{File: path, Loops: 0}})
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// A busy loop never ends the run: waitRun then fails after its timeout.
	st := waitRun(t, s)
	if st.Errors == 0 || st.LastError == "" {
		t.Errorf("run ended without an error: %+v", st)
	}
}

// TestReplayTinySpeed: speed 1e-12 (allowed: gte=0) stretches the
// 1 s between two frames beyond what time.Duration holds; the second
// frame must not go out at once, as if its deadline had overflowed into
// the past.
func TestReplayTinySpeed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.log")
	log := "(1000.000000) can0 123#01\n(1001.000000) can0 124#02\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	s, node := hubServe(t, Args{Replay: &ReplayArgs{File: path, Speed: 1e-12, Loops: 1}})
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	recvN(t, node, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if r, err := node.Recv(ctx); err == nil {
		t.Fatalf("speed 1e-12: the frame due in ~3e10 years was sent at once: %v", r.Frame)
	}
}
