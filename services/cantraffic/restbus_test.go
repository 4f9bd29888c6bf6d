package cantraffic

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/hexid"
)

const carDBC = "../../examples/car.dbc"

func TestCRCCheckValues(t *testing.T) {
	check := []byte("123456789")
	if got := CRC8SAEJ1850(check); got != 0x4B {
		t.Errorf("CRC8SAEJ1850 check = %#x, want 0x4B", got)
	}
	if got := CRC8H2F(check); got != 0xDF {
		t.Errorf("CRC8H2F check = %#x, want 0xDF", got)
	}
	// AUTOSAR's CRC library test vectors (SWS_CRC, CRC8 and CRC8H2F).
	vectors := []struct {
		data   []byte
		j, h2f byte
	}{
		{[]byte{0x00, 0x00, 0x00, 0x00}, 0x59, 0x12},
		{[]byte{0xF2, 0x01, 0x83}, 0x37, 0xC2},
		{[]byte{0x0F, 0xAA, 0x00, 0x55}, 0x79, 0xC6},
		{[]byte{0x00, 0xFF, 0x55, 0x11}, 0xB8, 0x77},
		{[]byte{0x33, 0x22, 0x55, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}, 0xCB, 0x11},
		{[]byte{0x92, 0x6B, 0x55}, 0x8C, 0x33},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF}, 0x74, 0x6C},
	}
	for _, v := range vectors {
		if got := CRC8SAEJ1850(v.data); got != v.j {
			t.Errorf("CRC8SAEJ1850(% X) = %#x, want %#x", v.data, got, v.j)
		}
		if got := CRC8H2F(v.data); got != v.h2f {
			t.Errorf("CRC8H2F(% X) = %#x, want %#x", v.data, got, v.h2f)
		}
	}
	// The examples of AUTOSAR PRS E2E Protocol 6.3.5 for Profile 1: data
	// ID 0x123, eight bytes, counter in the low nibble of byte 1, CRC in
	// byte 0, counters 0 and 1.
	for _, ex := range []struct {
		mode   string
		c0, c1 byte
	}{{DataIDBoth, 0xCC, 0x91}, {DataIDAlt, 0xCE, 0x02}, {DataIDLow, 0xCE, 0x93}} {
		for counter, want := range []byte{ex.c0, ex.c1} {
			p := make([]byte, 8)
			p[1] = byte(counter)
			if got := E2EProfile1CRC(p, 0, 0x123, ex.mode, uint8(counter)); got != want {
				t.Errorf("E2E P01 %s counter %d: CRC %#x, want %#x", ex.mode, counter, got, want)
			}
		}
	}
	// Profile 2 is CRC8H2F over the data after the CRC byte and the data ID.
	data := []byte{0x00, 0x03, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60}
	want := CRC8H2F(append(append([]byte(nil), data[1:]...), 0x5A))
	if got := E2EProfile2CRC(data, 0, 0x5A); got != want {
		t.Errorf("E2EProfile2CRC = %#x, want %#x", got, want)
	}
}

// restbusArgs simulates ECM and ABS of the example car, with E2E
// protection of both messages.
func restbusArgs() Args {
	max14 := uint64(14)
	return Args{Restbus: &RestbusArgs{
		DBC:   carDBC,
		Nodes: []string{"ECM", "ABS"},
		Counters: []CounterArgs{
			{Message: "EngineData", Signal: "EngineData_Counter", Max: &max14},
			{Message: "ABS_Status", Signal: "ABS_Counter"},
		},
		Checksums: []ChecksumArgs{
			{Message: "EngineData", Signal: "EngineData_CRC", Type: ChecksumE2EP1, DataID: 0x0100},
			{Message: "ABS_Status", Signal: "ABS_CRC", Type: ChecksumE2EP2, DataID: 0x1A},
		},
	}}
}

func TestRestbusArgs(t *testing.T) {
	good := restbusArgs().Restbus
	tests := []struct {
		name    string
		mod     func(a *RestbusArgs)
		wantErr string
	}{
		{"good", func(a *RestbusArgs) {}, ""},
		{"missing dbc", func(a *RestbusArgs) { a.DBC = "nope.dbc" }, "nope.dbc"},
		{"unknown node", func(a *RestbusArgs) { a.Nodes = []string{"XYZ"} }, "XYZ is not a node"},
		{"no cyclic messages", func(a *RestbusArgs) { a.Nodes = []string{"TESTER"}; a.Counters, a.Checksums = nil, nil }, "no cyclic message"},
		{"message not sent", func(a *RestbusArgs) { a.Messages = []string{"Ignition"} }, "Ignition is not a message"},
		{"message without cycle", func(a *RestbusArgs) { a.Messages = []string{"EngineEvent"} }, "no cycle time"},
		{"counter of unknown signal", func(a *RestbusArgs) { a.Counters[0].Signal = "Nope" }, "no signal Nope"},
		{"counter max too big", func(a *RestbusArgs) { a.Counters[0].Max = new(uint64(16)) }, "max 16 exceeds"},
		{"checksum not a byte", func(a *RestbusArgs) { a.Checksums[0].Signal = "EngineSpeed" }, "8-bit signal"},
		{"checksum type", func(a *RestbusArgs) { a.Checksums[0].Type = "md5" }, "md5"},
		{"e2e without counter", func(a *RestbusArgs) { a.Counters = a.Counters[1:] }, "needs an alive counter"},
		{"p02 data ids", func(a *RestbusArgs) { a.Checksums[1].DataIDs = make([]hexid.ID, 3) }, "want 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := *good
			a.Counters = append([]CounterArgs(nil), good.Counters...)
			a.Checksums = append([]ChecksumArgs(nil), good.Checksums...)
			tt.mod(&a)
			_, err := New(Args{Restbus: &a})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestRestbus runs the rest-bus of ECM and ABS and checks the frames on
// the bus: only their cyclic messages, start values, counters that
// increment and wrap, valid checksums, set_signal from the next frame on,
// signals, stats and the run_ended event.
func TestRestbus(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	events, err := b.Conn().SubscribeSync(bus.EventSubject(DefaultName, EventRunEnded))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Unsubscribe()
	a := restbusArgs()
	a.Autostart = true
	c := serve(t, b, a)
	db, err := dbc.Load(carDBC)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)

	last := map[uint32]int{}
	check := func(frames []can.Received) {
		t.Helper()
		for _, r := range frames {
			d, ok := db.Decode(r.Frame)
			if !ok || (d.Name != "EngineData" && d.Name != "ABS_Status") {
				t.Fatalf("frame %v is not of ECM or ABS", r.Frame)
			}
			p := r.Payload()
			var cnt, wrap int
			var crc byte
			if d.Name == "EngineData" {
				cnt, wrap = int(d.Signals["EngineData_Counter"]), 15
				crc = E2EProfile1CRC(p, 0, 0x0100, DataIDBoth, uint8(cnt))
			} else {
				cnt, wrap = int(d.Signals["ABS_Counter"]), 16
				crc = CRC8H2F(append(append([]byte(nil), p[1:]...), 0x1A))
			}
			if p[0] != crc {
				t.Errorf("%v: checksum %#x, want %#x", r.Frame, p[0], crc)
			}
			if prev, ok := last[r.ID]; ok && cnt != (prev+1)%wrap {
				t.Errorf("%s counter %d after %d", d.Name, cnt, prev)
			}
			last[r.ID] = cnt
		}
	}
	frames := recvN(t, node, 60) // > 15 EngineData frames: the counter wraps
	check(frames)
	d, _ := db.Decode(frames[0].Frame)
	if d.Name == "EngineData" && (d.Signals["EngineSpeed"] != 800 || d.Signals["CoolantTemp"] != 90) {
		t.Errorf("start values %v", d.Signals)
	}

	if err := c.SetSignal(ctx, SetSignalArgs{Message: "ABS_Status", Signal: "VehicleSpeed", Value: 50}); err != nil {
		t.Fatal(err)
	}
	// The first ABS_Status frame sent after the call carries it; frames
	// received right after may have been sent before.
	deadline := time.Now().Add(waitTimeout)
	for seen := false; !seen; {
		r := recvN(t, node, 1)
		check(r)
		if d, _ := db.Decode(r[0].Frame); d.Name == "ABS_Status" && d.Signals["VehicleSpeed"] == 50 {
			seen = true
		}
		if time.Now().After(deadline) {
			t.Fatal("VehicleSpeed 50 never seen")
		}
	}

	var sig map[string]map[string]float64
	if err := c.Call(ctx, "signals", nil, &sig); err != nil {
		t.Fatal(err)
	}
	if sig["ABS_Status"]["VehicleSpeed"] != 50 || sig["EngineData"]["EngineSpeed"] != 800 {
		t.Errorf("signals = %v", sig)
	}
	for _, bad := range []SetSignalArgs{
		{Message: "ABS_Status", Signal: "VehicleSpeed", Value: 400},
		{Message: "ABS_Status", Signal: "Nope", Value: 1},
		{Message: "Ignition", Signal: "IgnitionState", Value: 1},
		{Message: "ABS_Status", Signal: "ABS_CRC", Value: 1},
	} {
		err := c.SetSignal(ctx, bad)
		if !errors.Is(err, controller.ErrBadRequest) {
			t.Errorf("set_signal %+v = %v, want a bad request", bad, err)
		}
		if bad.Value == 400 && !strings.Contains(err.Error(), "VehicleSpeed: 400 km/h out of range [0, 327.67]") {
			t.Errorf("range error %q", err)
		}
	}
	st := stats(t, c)
	if st.Mode != ModeRestbus || len(st.Restbus) != 2 || st.Restbus[0].Message != "EngineData" || st.Restbus[0].CycleMS != 10 || st.Restbus[0].Sent == 0 {
		t.Errorf("stats %+v", st)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := events.NextMsg(waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var ev RunEnded
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Reason != EndStopped || ev.Sent != stats(t, c).Sent {
		t.Errorf("run_ended %s (%v), sent %d", m.Data, err, stats(t, c).Sent)
	}
}

// TestRunEndedCount: a generator run that reaches count emits run_ended
// with reason count.
func TestRunEndedCount(t *testing.T) {
	b := bgkittest.Bus(t)
	events, err := b.Conn().SubscribeSync(bus.EventSubject(DefaultName, EventRunEnded))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Unsubscribe()
	serve(t, b, Args{Generator: &GeneratorArgs{GapMS: new(0.0), Count: 25}, Autostart: true})
	m, err := events.NextMsg(waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != `{"sent":25,"reason":"count"}` {
		t.Errorf("run_ended %s", m.Data)
	}
}

// TestRestbusCatchUp: after a stall shorter than RestbusCatchUp, a
// rest-bus message sends the frames of the periods it missed, so that
// its frames stay on the grid of its cycle: the 11th frame of a 10 ms
// message goes out about 100 ms after the first, not 60 ms later as when
// the missed periods are skipped.
func TestRestbusCatchUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fast.dbc")
	writeFile(t, path, `VERSION ""
BS_:
BU_: SIM
BO_ 256 Fast: 1 SIM
 SG_ Counter : 0|8@1+ (1,0) [0|255] "" Vector__XXX
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_ "GenMsgCycleTime" BO_ 256 10;
`)
	s, err := New(Args{Restbus: &RestbusArgs{DBC: path, Nodes: []string{"SIM"}, Counters: []CounterArgs{{Message: "Fast", Signal: "Counter"}}}})
	if err != nil {
		t.Fatal(err)
	}
	hub := can.NewHub()
	fb := &stallBus{Bus: hub.Attach(), release: make(chan struct{})}
	node := hub.Attach()
	defer node.Close()
	s.life, s.bus = t.Context(), fb
	ctx := testCtx(t)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := recvN(t, node, 1)[0]
	time.Sleep(60 * time.Millisecond) // the stall under test: 6 periods
	close(fb.release)
	got := recvN(t, node, 10)
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	fb.Bus.Close()
	for i, r := range got {
		if r.Data[0] != byte(i+1) {
			t.Fatalf("frame %d has counter %d", i+1, r.Data[0])
		}
	}
	if d := got[9].Time.Sub(first.Time); d > 130*time.Millisecond {
		t.Errorf("11 frames of a 10 ms message took %v with a 60 ms stall: missed periods were skipped", d)
	}
}

// TestRestbusMultiplexed: a multiplexed message is sent with the signals
// of its multiplexer's value; setting a signal of another value selects
// that value, and the frame carries only that value's signals. Labels of
// value tables set signals too.
func TestRestbusMultiplexed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mux.dbc")
	writeFile(t, path, `VERSION ""
BS_:
BU_: SIM
BO_ 512 Info: 4 SIM
 SG_ Page M : 0|8@1+ (1,0) [0|1] "" Vector__XXX
 SG_ Temp m0 : 8|8@1+ (1,-40) [-40|215] "degC" Vector__XXX
 SG_ Volt m1 : 8|16@1+ (0.01,0) [0|600] "V" Vector__XXX
 SG_ Mode : 24|2@1+ (1,0) [0|3] "" Vector__XXX
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_ SG_ "GenSigStartValue" INT 0 65535;
BA_ "GenMsgCycleTime" BO_ 512 10;
BA_ "GenSigStartValue" SG_ 512 Temp 60;
VAL_ 512 Mode 0 "Off" 1 "Eco" 2 "Sport" ;
`)
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	c := serve(t, b, Args{Restbus: &RestbusArgs{DBC: path, Nodes: []string{"SIM"}}, Autostart: true})
	ctx := testCtx(t)
	if got := recvN(t, node, 1)[0].String(); got != "200#003C0000" {
		t.Fatalf("first frame %s, want page 0 with Temp 20 degC", got)
	}
	if err := c.SetSignal(ctx, SetSignalArgs{Message: "Info", Signal: "Volt", Value: 12.5}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSignal(ctx, SetSignalArgs{Message: "Info", Signal: "Mode", Label: "Sport"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		r := recvN(t, node, 1)[0]
		if r.String() == "200#01E20402" { // page 1, Volt 1250 = 0x04E2, Mode 2
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last frame %s", r)
		}
	}
	err := c.SetSignal(ctx, SetSignalArgs{Message: "Info", Signal: "Mode", Label: "Turbo"})
	if !errors.Is(err, controller.ErrBadRequest) || !strings.Contains(err.Error(), "[Off Eco Sport]") {
		t.Errorf("unknown label: %v", err)
	}
}
