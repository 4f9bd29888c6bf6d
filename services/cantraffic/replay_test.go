package cantraffic

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"

	"github.com/bgkit/bgkit/bgkittest"
)

// replayOffsets are the recorded times of the test log's frames.
var replayOffsets = []time.Duration{0, 40, 50, 120, 200, 210, 300, 400}

// writeReplayLog writes a candump log with a frame at each offset, on
// can0, with a comment and a frame of can1 in between.
func writeReplayLog(t *testing.T) (string, []can.Frame) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := can.NewLogWriter(f)
	base := time.Unix(1436509052, 249713000)
	var want []can.Frame
	for i, off := range replayOffsets {
		fr, err := can.ParseFrame(fmt.Sprintf("%03X#%02X", 0x100+i, i))
		if i == 3 {
			fr, err = can.ParseFrame("18DAF110##1112233445566778899")
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fr)
		if err := w.Write(can.LogEntry{Time: base.Add(off * time.Millisecond), Interface: "can0", Frame: fr}); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			if err := w.Write(can.LogEntry{Time: base.Add(off * time.Millisecond), Interface: "can1", Frame: can.Frame{ID: 0x7FF}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// TestReplay: the frames of the log go out in order with their recorded
// spacing divided by the speed. The timing is that of the sender (see
// hubServe): no frame goes before its time (exact), and all frames but
// a quarter are within 3 ms of their offsets from the others (against the
// median, so that a late first frame does not shift the rest); stalls of
// the scheduler can upset more in one attempt, hardly in five. A wrong
// speed, a drift or frames sent at once put most frames tens of
// milliseconds off.
func TestReplay(t *testing.T) {
	path, wantFrames := writeReplayLog(t)
	for _, speed := range []float64{1, 10} {
		t.Run(fmt.Sprint("speed ", speed), func(t *testing.T) {
			s, node := hubServe(t, Args{Replay: &ReplayArgs{File: path, Speed: speed, Loops: 1, Interface: "can0"}})
			want := make([]time.Duration, len(replayOffsets))
			for i, off := range replayOffsets {
				want[i] = time.Duration(float64(off*time.Millisecond) / speed)
			}
			runs := 0
			retryTiming(t, func() error {
				start := time.Now()
				if err := s.Start(testCtx(t)); err != nil {
					t.Fatal(err)
				}
				runs++
				got := recvN(t, node, len(want))
				for i, r := range got {
					if r.Frame != wantFrames[i] {
						t.Errorf("frame %d = %v, want %v", i, r.Frame, wantFrames[i])
					}
				}
				if err := notEarly(got, want, start); err != nil {
					t.Error(err)
				}
				st := waitRun(t, s)
				if st.Sent != uint64(runs*len(want)) || st.Replay.LoopsDone != uint64(runs) || st.Replay.Frames != len(want) || st.Replay.Speed != speed {
					t.Errorf("stats %+v %+v", st, st.Replay)
				}
				return offsets(got, want, 3*time.Millisecond, len(want)/4)
			})
		})
	}
}

// TestReplayLoops: the file is sent loops times (every interface by
// default), the next loop right after the last frame.
func TestReplayLoops(t *testing.T) {
	path, want := writeReplayLog(t)
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	c := serve(t, b, Args{Replay: &ReplayArgs{File: path, Speed: 50, Loops: 3}})
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	n := len(want) + 1 // with the frame of can1
	got := recvN(t, node, 3*n)
	for loop := range 3 {
		if g := got[loop*n].Frame; g != want[0] {
			t.Errorf("loop %d starts with %v, want %v", loop, g, want[0])
		}
	}
	st := waitStats(t, c, "the loops to end", func(st Stats) bool { return !st.Running })
	if st.Sent != uint64(3*n) || st.Replay.LoopsDone != 3 {
		t.Errorf("stats %+v %+v", st, st.Replay)
	}
	// Forever, until stopped.
	c2 := serveNamed(t, b, "FOREVER", Args{Replay: &ReplayArgs{File: path, Speed: 100}, Autostart: true})
	recvN(t, node, 4*n)
	if err := c2.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, c2); st.Running || st.Replay.LoopsDone < 3 || st.Replay.Loops != 0 {
		t.Errorf("stats %+v %+v", st, st.Replay)
	}
}

// TestReplaySkipsErrorFrames: a log recorded with candump -e holds error
// frames (CAN_ERR_FLAG in an 8-digit id), which report a controller's
// errors rather than traffic: the replay skips them and counts them, and
// sends every other frame; before, New refused the whole log.
func TestReplaySkipsErrorFrames(t *testing.T) {
	path, want := writeReplayLog(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	errLine := "(1436509052.299713) can0 20000080#0000000000000000\n"  // bus-off, as candump -l -e logs it
	otherBus := "(1436509052.299714) can1 20000004#0000080000000000\n" // another interface's: not counted
	withErrors := strings.Join(lines[:2], "") + errLine + otherBus + strings.Join(lines[2:], "") + errLine
	if err := os.WriteFile(path, []byte(withErrors), 0o644); err != nil {
		t.Fatal(err)
	}
	s, node := hubServe(t, Args{Replay: &ReplayArgs{File: path, Speed: 50, Loops: 1, Interface: "can0"}})
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	got := recvN(t, node, len(want))
	for i, r := range got {
		if r.Frame != want[i] {
			t.Errorf("frame %d = %v, want %v", i, r.Frame, want[i])
		}
	}
	st := waitRun(t, s)
	if st.Sent != uint64(len(want)) || st.Replay.Frames != len(want) || st.Replay.ErrorFrames != 2 {
		t.Errorf("stats %+v %+v, want %d sent, %d frames, 2 error frames", st, st.Replay, len(want), len(want))
	}
}
