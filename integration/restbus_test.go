package integration

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
	"github.com/bgkit/bgkit/services/canmonitor"
	"github.com/bgkit/bgkit/services/canrecorder"
	"github.com/bgkit/bgkit/services/cantraffic"
)

// restbusDBC is examples/car.dbc, seen from this package's directory
// (the children's working directory too).
const restbusDBC = "../examples/car.dbc"

// restbusRig returns the args of each kind of examples/restbus.yaml, with
// the DBC paths made relative to this directory.
func restbusRig(t *testing.T) map[string]map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "restbus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rig struct {
		Services []struct {
			Kind string         `yaml:"kind"`
			Args map[string]any `yaml:"args"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &rig); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, s := range rig.Services {
		if rb, ok := s.Args["restbus"].(map[string]any); ok {
			rb["dbc"] = restbusDBC
		}
		if _, ok := s.Args["dbc"]; ok {
			s.Args["dbc"] = restbusDBC
		}
		out[s.Kind] = s.Args
	}
	if out[cantraffic.Kind] == nil || out[canmonitor.Kind] == nil {
		t.Fatalf("restbus.yaml lacks can-traffic or can-monitor: %v", out)
	}
	return out
}

// restbusCheck checks the counter and checksum of one frame of the
// example car against the previous counter of its message (-1: none), and
// returns the frame's counter. The checksums are recomputed here, from
// the CRC definitions, independently of can-traffic's E2E code.
func restbusCheck(t *testing.T, d dbc.Decoded, p []byte, prev int) int {
	t.Helper()
	var cnt, wrap int
	var want byte
	switch d.Name {
	case "EngineData": // E2E P01: J1850 poly, init 0, no final XOR, over ID lo, ID hi, data[1:]
		cnt, wrap = int(d.Signals["EngineData_Counter"]), 15
		want = restbusCRC(0x1D, 0x00, append([]byte{0x00, 0x01}, p[1:]...))
	case "ABS_Status": // E2E P02: CRC8H2F over data[1:] and the data ID
		cnt, wrap = int(d.Signals["ABS_Counter"]), 16
		want = restbusCRC(0x2F, 0xFF, append(append([]byte(nil), p[1:]...), 0x1A)) ^ 0xFF
	case "GW_Status": // CRC-8 SAE J1850 over the payload but byte 15
		cnt, wrap = int(d.Signals["GW_Counter"]), 256
		want = restbusCRC(0x1D, 0xFF, p[:15]) ^ 0xFF
		if p[15] != want {
			t.Errorf("%s %X: checksum %#x, want %#x", d.Name, p, p[15], want)
		}
	default:
		return -1
	}
	if d.Name != "GW_Status" && p[0] != want {
		t.Errorf("%s %X: checksum %#x, want %#x", d.Name, p, p[0], want)
	}
	if prev >= 0 && cnt != (prev+1)%wrap {
		t.Errorf("%s: counter %d after %d", d.Name, cnt, prev)
	}
	return cnt
}

func restbusCRC(poly, crc byte, data []byte) byte {
	for _, b := range data {
		crc ^= b
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ poly
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// TestRestbusCycleTimes runs the rest-bus of examples/restbus.yaml for
// 10 s while can-recorder records the bus, then decodes the recording:
// every cyclic message of the four nodes is there at its cycle time (mean
// period error at most 0.1 %), its counter increments and wraps, and its
// checksum is valid.
func TestRestbusCycleTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s of traffic")
	}
	const run = 10 * time.Second
	ctx := canCtx(t)
	b := bgkittest.Bus(t)
	rig := restbusRig(t)
	logPath := filepath.Join(t.TempDir(), "restbus.log")
	rec := spawnCAN(t, b, canrecorder.Kind, "", map[string]any{"bus": "virtual:bus0", "path": logPath})
	tr := spawnCAN(t, b, cantraffic.Kind, "", rig[cantraffic.Kind])
	trc, err := cantraffic.Connect(ctx, b, tr.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	recc, err := canrecorder.Connect(ctx, b, rec.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-time.After(run): // the length of the recording, not a wait for an event
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := trc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := trc.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := recc.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	db, err := dbc.Load(restbusDBC)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		n           int
		first, last time.Time
		counter     int
		maxGap      time.Duration
	}
	msgs := map[string]*seen{}
	for _, e := range readCANLog(t, logPath) {
		d, ok := db.Decode(e.Frame)
		if !ok {
			t.Fatalf("frame %v is of no message of the DBC", e.Frame)
		}
		if d.Name == "GW_Status" && (!e.Frame.FD || !e.Frame.Extended) {
			t.Errorf("GW_Status %v is not an extended CAN FD frame", e.Frame)
		}
		s := msgs[d.Name]
		if s == nil {
			s = &seen{first: e.Time, counter: -1}
			msgs[d.Name] = s
		}
		s.n++
		if gap := e.Time.Sub(s.last); s.n > 1 && gap > s.maxGap {
			s.maxGap = gap
		}
		s.last = e.Time
		s.counter = restbusCheck(t, d, e.Frame.Payload(), s.counter)
	}
	var total uint64
	for _, name := range []string{"EngineData", "ABS_Status", "Ignition", "GW_Status"} {
		m, _ := db.Message(name)
		s := msgs[name]
		if s == nil || s.n < 2 {
			t.Errorf("%s: %v frames recorded", name, s)
			continue
		}
		total += uint64(s.n)
		mean := s.last.Sub(s.first) / time.Duration(s.n-1)
		relErr := math.Abs(float64(mean-m.CycleTime)) / float64(m.CycleTime)
		t.Logf("%-10s cycle %v: %d frames, mean period %v, error %.4f %%, longest gap %v", name, m.CycleTime, s.n, mean, 100*relErr, s.maxGap)
		if relErr > 0.001 {
			t.Errorf("%s: mean period %v, cycle %v: error %.3f %% > 0.1 %%", name, mean, m.CycleTime, 100*relErr)
		}
		if want := int(run / m.CycleTime); s.n < want*9/10 {
			t.Errorf("%s: %d frames in %v, want about %d", name, s.n, run, want)
		}
	}
	if len(msgs) != 4 {
		t.Errorf("messages recorded: %v (want the 4 cyclic ones of ECM, ABS, BCM and GW)", msgs)
	}
	if total != st.Sent {
		t.Errorf("recorded %d frames, can-traffic sent %d", total, st.Sent)
	}
}

// TestRestbusSetSignal: a signal set with set_signal is on the bus within
// one cycle of the message: in the first frame sent after the call (the
// second received, at most, if one was on its way), and within its cycle
// of 100 ms plus a margin of 400 ms for a loaded machine.
func TestRestbusSetSignal(t *testing.T) {
	ctx := canCtx(t)
	b := bgkittest.Bus(t)
	node, err := can.NewVirtual(b.Conn(), "bus0", can.WithFilters(can.Filter{ID: 0x3C0, Mask: can.MaxID | can.EFFFlag}))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	tr := spawnCAN(t, b, cantraffic.Kind, "", restbusRig(t)[cantraffic.Kind])
	c, err := cantraffic.Connect(ctx, b, tr.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	db, err := dbc.Load(restbusDBC)
	if err != nil {
		t.Fatal(err)
	}
	ign := func() float64 {
		r, err := node.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := db.Decode(r.Frame)
		if !ok || d.Name != "Ignition" {
			t.Fatalf("frame %v", r.Frame)
		}
		return d.Signals["IgnitionState"]
	}
	if v := ign(); v != 2 {
		t.Fatalf("IgnitionState %v, want the start value 2 (On)", v)
	}
	if err := c.SetSignal(ctx, cantraffic.SetSignalArgs{Message: "Ignition", Signal: "IgnitionState", Value: 0}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	v := ign()
	if v != 0 {
		v = ign()
	}
	took := time.Since(t0)
	if v != 0 {
		t.Fatalf("IgnitionState %v in the second frame after set_signal, want 0", v)
	}
	t.Logf("set_signal on the bus after %v (cycle 100 ms)", took)
	if took > 500*time.Millisecond {
		t.Errorf("set_signal took %v to reach the bus, more than a cycle (100 ms) and the 400 ms margin", took)
	}
	sig, err := c.Signals(ctx)
	if err != nil || sig["Ignition"]["IgnitionState"] != 0 || sig["EngineData"]["EngineSpeed"] != 800 {
		t.Errorf("signals = %v, %v", sig, err)
	}
	err = c.SetSignal(ctx, cantraffic.SetSignalArgs{Message: "ABS_Status", Signal: "VehicleSpeed", Value: 1000})
	if err == nil || !strings.Contains(err.Error(), "VehicleSpeed: 1000 km/h out of range [0, 327.67]") {
		t.Errorf("out of range: %v", err)
	}
}

// TestRestbusWaitSignal waits for signals through can-monitor, as a test
// of an ECU would: the start value of IgnitionState, then VehicleSpeed
// reaching 50 km/h after set_signal.
func TestRestbusWaitSignal(t *testing.T) {
	ctx := canCtx(t)
	b := bgkittest.Bus(t)
	rig := restbusRig(t)
	spawnCAN(t, b, canmonitor.Kind, "", rig[canmonitor.Kind])
	tr := spawnCAN(t, b, cantraffic.Kind, "", rig[cantraffic.Kind])
	c, err := cantraffic.Connect(ctx, b, tr.ServiceName())
	if err != nil {
		t.Fatal(err)
	}

	if s := bgkittest.WaitSignal(t, b, "IgnitionState", "==", 2, 5*time.Second); s.Label != "On" {
		t.Errorf("IgnitionState %+v", s)
	}
	if err := c.SetSignal(ctx, cantraffic.SetSignalArgs{Message: "ABS_Status", Signal: "VehicleSpeed", Value: 55}); err != nil {
		t.Fatal(err)
	}
	s := bgkittest.WaitSignal(t, b, "VehicleSpeed", ">=", 50, 2*time.Second)
	if s.Value != 55 || s.Unit != "km/h" || s.Message != "ABS_Status" {
		t.Errorf("VehicleSpeed %+v", s)
	}

	// A condition never met fails with the last value seen.
	mc, err := canmonitor.Connect(ctx, b, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = mc.WaitSignal(ctx, "VehicleSpeed", ">=", 100, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "ABS_Status.VehicleSpeed >= 100 not reached (last 55 at") {
		t.Errorf("wait for 100 km/h: %v", err)
	}
}
