package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"

	"github.com/bgkit/bgkit/bgkittest"
)

func TestDefaultName(t *testing.T) {
	if DefaultName != "CAN_TRAFFIC_SERVICE" {
		t.Errorf("DefaultName = %q", DefaultName)
	}
	svc, err := New(Args{})
	if err != nil {
		t.Fatal(err)
	}
	if got := service.DeriveName(fmt.Sprintf("%T", svc)); got != DefaultName {
		t.Errorf("derived name %q, want %q", got, DefaultName)
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.log")
	writeFile(t, good, "(1.000000) can0 123#11\n(1.010000) can1 456#22\n")
	bad := filepath.Join(dir, "bad.log")
	writeFile(t, bad, "(1.000000) can0 123#11\n(1.010000) can0 XYZ\n")
	empty := filepath.Join(dir, "empty.log")
	writeFile(t, empty, "# nothing\n")
	cyc := []CyclicMessage{{ID: 0x123, Data: "11", PeriodMS: 10}}

	tests := []struct {
		name    string
		args    Args
		wantErr string
	}{
		{name: "defaults", args: Args{}},
		{name: "socketcan spec", args: Args{Bus: "socketcan:can0"}},
		{name: "bad bus", args: Args{Bus: "serial:x"}, wantErr: "bus"},
		{name: "negative gap", args: Args{Generator: &GeneratorArgs{GapMS: new(-1.0)}}, wantErr: "gap_ms"},
		{name: "NaN gap", args: Args{Generator: &GeneratorArgs{GapMS: new(math.NaN())}}, wantErr: "gap_ms"},
		{name: "zero gap", args: Args{Generator: &GeneratorArgs{GapMS: new(0.0)}}},
		{name: "negative count", args: Args{Generator: &GeneratorArgs{Count: -1}}, wantErr: "count"},
		{name: "bad id", args: Args{Generator: &GeneratorArgs{IDMode: "800"}}, wantErr: "id_mode"},
		{name: "cyclic", args: Args{Cyclic: cyc}},
		{name: "cyclic with a generator field", args: Args{Cyclic: cyc, Generator: &GeneratorArgs{Count: 3}}, wantErr: "set one mode at most"},
		{name: "cyclic and replay", args: Args{Cyclic: cyc, Replay: &ReplayArgs{File: good}}, wantErr: "set one mode at most"},
		{name: "cyclic duplicate", args: Args{Cyclic: append(cyc, cyc[0])}, wantErr: "twice"},
		{name: "cyclic same number, other format", args: Args{Cyclic: append(cyc, CyclicMessage{ID: 0x123, Extended: true, PeriodMS: 5})}},
		{name: "cyclic bad id", args: Args{Cyclic: []CyclicMessage{{ID: 0x800, PeriodMS: 1}}}, wantErr: "7FF"},
		{name: "cyclic bad data", args: Args{Cyclic: []CyclicMessage{{ID: 0x1, Data: "1", PeriodMS: 1}}}, wantErr: "data"},
		{name: "cyclic long classic data", args: Args{Cyclic: []CyclicMessage{{ID: 0x1, Data: "112233445566778899", PeriodMS: 1}}}, wantErr: "data"},
		{name: "cyclic FD data", args: Args{Cyclic: []CyclicMessage{{ID: 0x1, Data: "112233445566778899", FD: true, PeriodMS: 1}}}},
		{name: "cyclic zero period", args: Args{Cyclic: []CyclicMessage{{ID: 0x1}}}, wantErr: "period_ms"},
		{name: "replay", args: Args{Replay: &ReplayArgs{File: good}}},
		{name: "replay one interface", args: Args{Replay: &ReplayArgs{File: good, Interface: "can1"}}},
		{name: "replay unknown interface", args: Args{Replay: &ReplayArgs{File: good, Interface: "can7"}}, wantErr: "no frames"},
		{name: "replay with a generator field", args: Args{Replay: &ReplayArgs{File: good}, Generator: &GeneratorArgs{IDMode: "1"}}, wantErr: "generator and replay"},
		{name: "replay missing file", args: Args{Replay: &ReplayArgs{File: filepath.Join(dir, "nope")}}, wantErr: "no such file"},
		{name: "replay bad line", args: Args{Replay: &ReplayArgs{File: bad}}, wantErr: "line 2"},
		{name: "replay empty", args: Args{Replay: &ReplayArgs{File: empty}}, wantErr: "no frames"},
		{name: "replay negative speed", args: Args{Replay: &ReplayArgs{File: good, Speed: -1}}, wantErr: "speed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.args)
			if (err != nil) != (tt.wantErr != "") {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr != "")
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// TestArgsValidate checks the validate tags the kit applies before New.
func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		wantErr bool
	}{
		{name: "zero", args: Args{}},
		{name: "gap", args: Args{Generator: &GeneratorArgs{GapMS: new(0.25)}}},
		{name: "negative gap", args: Args{Generator: &GeneratorArgs{GapMS: new(-0.5)}}, wantErr: true},
		{name: "negative burst", args: Args{Generator: &GeneratorArgs{Burst: -1}}, wantErr: true},
		{name: "cyclic id 0", args: Args{Cyclic: []CyclicMessage{{PeriodMS: 1}}}},
		{name: "cyclic without period", args: Args{Cyclic: []CyclicMessage{{ID: 0x1}}}, wantErr: true},
		{name: "replay without file", args: Args{Replay: &ReplayArgs{}}, wantErr: true},
		{name: "replay negative loops", args: Args{Replay: &ReplayArgs{File: "x", Loops: -1}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := service.Validate(&tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCount: a run stops after count frames, which are the generated
// ones; a second start runs count frames again, the same ones for a
// fixed seed.
func TestCount(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	c := serve(t, b, Args{Autostart: true, Generator: &GeneratorArgs{GapMS: new(0.0), Count: 50, Seed: 99, IDMode: "i"}})
	got := recvN(t, node, 50)
	st := waitStats(t, c, "the run to end", func(st Stats) bool { return !st.Running })
	if st.Sent != 50 || st.Errors != 0 || st.Generator.Seed != 99 {
		t.Errorf("stats %+v, want 50 sent, no errors, seed 99", st)
	}
	for i, r := range got {
		if r.ID != uint32(i) {
			t.Fatalf("frame %d has id %X, want %X", i, r.ID, i)
		}
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	again := recvN(t, node, 50)
	st = waitStats(t, c, "the second run to end", func(st Stats) bool { return !st.Running })
	if st.Sent != 100 {
		t.Errorf("sent %d after two runs, want 100", st.Sent)
	}
	for i := range got {
		if got[i].Frame != again[i].Frame {
			t.Fatalf("frame %d: %v in the first run, %v in the second", i, got[i].Frame, again[i].Frame)
		}
	}
	if st.FramesPerSecond <= 0 {
		t.Errorf("frames_per_second %v", st.FramesPerSecond)
	}
}

// TestBurst: burst frames go out back to back, then the gap. The timing
// is that of the sender (see hubServe): no frame before its deadline
// (exact), all but a quarter within 5 ms of their offsets (against the
// median; stalls can upset one attempt, hardly five). Bursts spread
// out, or gaps of the wrong length, put most frames off.
func TestBurst(t *testing.T) {
	s, node := hubServe(t, Args{Generator: &GeneratorArgs{GapMS: new(40.0), Burst: 4, Count: 12, IDMode: "i"}})
	want := []time.Duration{0, 0, 0, 0, 40, 40, 40, 40, 80, 80, 80, 80}
	for i := range want {
		want[i] *= time.Millisecond
	}
	retryTiming(t, func() error {
		start := time.Now()
		if err := s.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		got := recvN(t, node, 12)
		waitRun(t, s)
		for i, r := range got {
			if r.ID != uint32(i) {
				t.Fatalf("frame %d has id %X", i, r.ID)
			}
		}
		if err := notEarly(got, want, start); err != nil {
			t.Error(err)
		}
		return offsets(got, want, 5*time.Millisecond, len(want)/4)
	})
}

// TestGapAccuracy: the gap holds, for gaps below and above the timer
// resolution. The timing is that of the sender (see hubServe): the j-th
// frame never goes before j gaps from the start (exact), and the median
// gap over spans of 10 gaps is within 5% (a stall, made up for by frames
// sent at once, upsets only the spans across it). A timer-bound wait (at
// least a millisecond) or a gap in the wrong unit fails.
func TestGapAccuracy(t *testing.T) {
	for _, gapMS := range []float64{0.25, 4} {
		t.Run(fmt.Sprint(gapMS, "ms"), func(t *testing.T) {
			n := int(80 / gapMS) // 80 ms
			s, node := hubServe(t, Args{Generator: &GeneratorArgs{GapMS: new(gapMS), Count: n}})
			gap := time.Duration(gapMS * float64(time.Millisecond))
			retryTiming(t, func() error {
				start := time.Now()
				if err := s.Start(testCtx(t)); err != nil {
					t.Fatal(err)
				}
				got := recvN(t, node, n)
				waitRun(t, s)
				want := make([]time.Duration, n)
				times := make([]time.Time, n)
				for i, r := range got {
					want[i], times[i] = time.Duration(i)*gap, r.Time
				}
				if err := notEarly(got, want, start); err != nil {
					t.Error(err)
				}
				if med := medianSpan(times, 10); med < gap*95/100 || med > gap*105/100 {
					return fmt.Errorf("median gap %v, want %v ± 5%%", med, gap)
				}
				return nil
			})
		})
	}
}

// TestSetGap: a new gap takes effect at once, even during a long gap.
func TestSetGap(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	c := serve(t, b, Args{Autostart: true, Generator: &GeneratorArgs{GapMS: new(60000.0)}})
	first := recvN(t, node, 1)[0]
	if err := c.SetGap(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	got := recvN(t, node, 10)
	if d := got[9].Time.Sub(first.Time); d > 5*time.Second {
		t.Errorf("10 frames after set_gap 2 took %v", d)
	}
	st := stats(t, c)
	if st.Generator.GapMS != 2 {
		t.Errorf("stats gap_ms %v, want 2", st.Generator.GapMS)
	}
	for _, bad := range []float64{0, -1, 4e6} {
		if err := c.SetGap(testCtx(t), bad); !errors.Is(err, controller.ErrBadRequest) {
			t.Errorf("set_gap %v = %v, want a bad request", bad, err)
		}
	}
}

// TestStartStop: nothing is sent before start (autostart off) nor after
// stop returns; stop and start are idempotent.
func TestStartStop(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	c := serve(t, b, Args{Generator: &GeneratorArgs{GapMS: new(1.0), IDMode: "i"}})
	ctx := testCtx(t)
	if st := stats(t, c); st.Running || st.Sent != 0 || st.Mode != ModeGenerator {
		t.Fatalf("before start: %+v", st)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("stop before start: %v", err)
	}
	for range 2 {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	recvN(t, node, 5)
	for range 2 {
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st := stats(t, c)
	if st.Running || st.Sent < 5 {
		t.Fatalf("after stop: %+v", st)
	}
	// The frames sent before stop returned arrive; then nothing: the
	// sent count no longer moves.
	recvN(t, node, int(st.Sent)-5)
	if st2 := stats(t, c); st2.Sent != st.Sent {
		t.Errorf("sent went from %d to %d after stop", st.Sent, st2.Sent)
	}
	if err := c.SetPayload(ctx, SetPayloadArgs{ID: 0x1, Data: "00"}); !errors.Is(err, controller.ErrBadRequest) {
		t.Errorf("set_payload in generator mode = %v, want a bad request", err)
	}
}

// failingBus refuses every other frame.
type failingBus struct {
	mu   sync.Mutex
	n    int
	sent []can.Frame
}

var errRefused = errors.New("refused")

func (b *failingBus) Send(ctx context.Context, f can.Frame) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	if b.n%2 == 0 {
		return errRefused
	}
	b.sent = append(b.sent, f)
	return nil
}
func (b *failingBus) Recv(ctx context.Context) (can.Received, error) {
	<-ctx.Done()
	return can.Received{}, ctx.Err()
}
func (b *failingBus) Close() error { return nil }

// TestSendErrors: a failing send is counted and the run goes on.
func TestSendErrors(t *testing.T) {
	s, err := New(Args{Generator: &GeneratorArgs{GapMS: new(0.0), Count: 20}})
	if err != nil {
		t.Fatal(err)
	}
	fb := &failingBus{}
	s.life, s.bus = t.Context(), fb
	ctx := testCtx(t)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	<-done
	st, _ := s.Stats(ctx)
	if st.Sent != 10 || st.Errors != 10 || !strings.Contains(st.LastError, "refused") || st.Running {
		t.Errorf("stats %+v, want 10 sent, 10 errors, the last error, not running", st)
	}
	if len(fb.sent) != 10 {
		t.Errorf("the bus took %d frames", len(fb.sent))
	}
}
