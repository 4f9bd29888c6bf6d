package dbc_test

import (
	"encoding/hex"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
)

func load(t testing.TB, name string) *dbc.DB {
	t.Helper()
	db, err := dbc.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden encodes and decodes the byte layouts of cantools' tests.
func TestGolden(t *testing.T) {
	tests := []struct {
		name, file, msg string
		values          map[string]float64
		data            string
	}{
		{"motohawk big endian", "motohawk.dbc", "ExampleMessage",
			map[string]float64{"Temperature": 250.55, "AverageRadius": 3.2, "Enable": 1}, "c006e00000000000"},
		{"motohawk hello world", "motohawk.dbc", "ExampleMessage",
			map[string]float64{"Temperature": 250.1, "AverageRadius": 3.2, "Enable": 1}, "c001400000000000"},
		{"motohawk raw 3 2 1", "motohawk.dbc", "ExampleMessage",
			map[string]float64{"Temperature": 250.03, "AverageRadius": 0.2, "Enable": 1}, "8400600000000000"},
		{"motohawk negative", "motohawk.dbc", "ExampleMessage",
			map[string]float64{"Temperature": 249.99, "AverageRadius": 0, "Enable": 0}, "01ffe00000000000"},
		{"socialledge mux 0", "socialledge.dbc", "SENSOR_SONARS",
			map[string]float64{"SENSOR_SONARS_mux": 0, "SENSOR_SONARS_err_count": 1, "SENSOR_SONARS_left": 2,
				"SENSOR_SONARS_middle": 3, "SENSOR_SONARS_right": 4, "SENSOR_SONARS_rear": 5}, "100014e001282003"},
		{"socialledge mux 1", "socialledge.dbc", "SENSOR_SONARS",
			map[string]float64{"SENSOR_SONARS_mux": 1, "SENSOR_SONARS_err_count": 2, "SENSOR_SONARS_no_filt_left": 3,
				"SENSOR_SONARS_no_filt_middle": 4, "SENSOR_SONARS_no_filt_right": 5, "SENSOR_SONARS_no_filt_rear": 6}, "21001e800232c003"},
		{"socialledge signed offset", "socialledge.dbc", "MOTOR_CMD",
			map[string]float64{"MOTOR_CMD_steer": -5, "MOTOR_CMD_drive": 9}, "90"},
		{"multiplex 24", "multiplex.dbc", "Message1",
			map[string]float64{"Multiplexor": 24, "BIT_J": 1, "BIT_C": 1, "BIT_G": 1, "BIT_L": 1, "BIT_A": 1,
				"BIT_K": 1, "BIT_E": 1, "BIT_D": 1, "BIT_B": 1, "BIT_H": 1, "BIT_F": 1}, "60008c35c3000000"},
		{"double", "floating_point.dbc", "Message1",
			map[string]float64{"Signal1": -129.448}, "75931804562e60c0"},
		{"floats", "floating_point.dbc", "Message2",
			map[string]float64{"Signal1": 60.5, "Signal2": 70.25}, "0000724200808c42"},
		// Our own FD layout, worked out by hand: Wide 0xABC at bits
		// 500-511 (Intel), Moto raw -2 at bytes 60-61 (Motorola),
		// Counter 5 in the low nibble of byte 0, Dbl 1.5 in bytes 8-15.
		{"fd 64 bytes", "fd64.dbc", "BigFD",
			map[string]float64{"Counter": 5, "Wide": 0xABC, "Moto": -11, "Dbl": 1.5},
			"05" + strings.Repeat("00", 7) + "000000000000f83f" + strings.Repeat("00", 44) + "fffe" + "c0ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := load(t, tt.file)
			want := unhex(t, tt.data)
			f, err := db.Encode(tt.msg, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Payload(); hex.EncodeToString(got) != hex.EncodeToString(want) {
				t.Errorf("Encode = %x, want %x", got, want)
			}
			d, ok := db.Decode(f)
			if !ok || d.Name != tt.msg {
				t.Fatalf("Decode = %q, %v", d.Name, ok)
			}
			if len(d.Signals) != len(tt.values) {
				t.Errorf("Decode gave %d signals %v, want %d", len(d.Signals), d.Signals, len(tt.values))
			}
			for k, v := range tt.values {
				if got := d.Signals[k]; math.Abs(got-v) > 1e-9 {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
		})
	}
}

func TestMessageAttributes(t *testing.T) {
	tests := []struct {
		name, file, msg string
		id              uint32
		ext, fd, brs    bool
		length, flen    int
		cycle           time.Duration
		senders         []string
	}{
		{"classic", "motohawk.dbc", "ExampleMessage", 0x1F0, false, false, false, 8, 8, 0, []string{"PCM1"}},
		{"VFrameFormat ExtendedCAN_FD", "motohawk_fd.dbc", "ExampleMessage", 0x1F0, true, true, true, 8, 8, 0, []string{"PCM1"}},
		{"extended bit 31", "multiplex.dbc", "Message1", 0x123456, true, false, false, 8, 8, 0, nil},
		{"cycle time", "socialledge.dbc", "DRIVER_HEARTBEAT", 100, false, false, false, 1, 1, time.Second, []string{"DRIVER"}},
		{"BO_TX_BU_", "socialledge.dbc", "MOTOR_CMD", 101, false, false, false, 1, 1, 100 * time.Millisecond, []string{"DRIVER", "DBG"}},
		{"length 64", "fd64.dbc", "BigFD", 0x600, false, true, false, 64, 64, 10 * time.Millisecond, []string{"ECM"}},
		{"length 12", "fd64.dbc", "ExtFD", 0x19000000, true, true, false, 12, 12, 0, []string{"ECM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := load(t, tt.file).Message(tt.msg)
			if !ok {
				t.Fatal("no message")
			}
			if m.ID != tt.id || m.Extended != tt.ext || m.FD != tt.fd || m.BRS != tt.brs ||
				m.Length != tt.length || m.FrameLen() != tt.flen || m.CycleTime != tt.cycle {
				t.Errorf("got id %#x ext %v fd %v brs %v len %d/%d cycle %v", m.ID, m.Extended, m.FD, m.BRS, m.Length, m.FrameLen(), m.CycleTime)
			}
			if strings.Join(m.Senders, ",") != strings.Join(tt.senders, ",") {
				t.Errorf("senders %v, want %v", m.Senders, tt.senders)
			}
			f := m.Frame()
			if err := f.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestValueTablesAndStartValues(t *testing.T) {
	db, err := dbc.Parse("start.dbc", []byte(`VERSION ""
BS_:
BU_: ECM
BO_ 256 Engine: 8 ECM
 SG_ RPM : 0|16@1+ (0.25,0) [0|16000] "rpm" Vector__XXX
 SG_ Temp : 16|8@1+ (1,-40) [-40|215] "degC" Vector__XXX
 SG_ Gear : 24|4@1+ (1,1) [1|8] "" Vector__XXX
 SG_ Mode : 28|2@1+ (1,0) [0|3] "" Vector__XXX
BA_DEF_ SG_ "GenSigStartValue" INT 0 65535;
BA_DEF_DEF_ "GenSigStartValue" 0;
BA_ "GenSigStartValue" SG_ 256 RPM 3200;
BA_ "GenSigStartValue" SG_ 256 Temp 130;
VAL_ 256 Mode 0 "Off" 1 "Eco" 2 "Sport" ;
`))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := db.Message("Engine")
	want := map[string]float64{"RPM": 800, "Temp": 90, "Gear": 1, "Mode": 0}
	for k, v := range want {
		if got := m.StartValues()[k]; got != v {
			t.Errorf("start %s = %v, want %v", k, got, v)
		}
	}
	mode, _ := m.Signal("Mode")
	if n, ok := mode.ValueName(2); !ok || n != "Sport" {
		t.Errorf("ValueName(2) = %q, %v", n, ok)
	}
	if v, ok := mode.ValueOf("Eco"); !ok || v != 1 {
		t.Errorf("ValueOf(Eco) = %v, %v", v, ok)
	}
	f, err := db.Encode("Engine", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(f.Payload()); got != "800c820000000000" {
		t.Errorf("start frame %s", got)
	}
}

func TestEncodeErrors(t *testing.T) {
	db := load(t, "socialledge.dbc")
	tests := []struct {
		name, msg string
		values    map[string]float64
		want      []string // in the error text
		rng       bool     // wraps ErrRange
	}{
		{"above max", "MOTOR_CMD", map[string]float64{"MOTOR_CMD_drive": 10}, []string{"MOTOR_CMD_drive", "[0, 9]", "10"}, true},
		{"below min", "MOTOR_CMD", map[string]float64{"MOTOR_CMD_steer": -6}, []string{"MOTOR_CMD_steer", "[-5, 5]"}, true},
		{"width", "DRIVER_HEARTBEAT", map[string]float64{"DRIVER_HEARTBEAT_cmd": 256}, []string{"DRIVER_HEARTBEAT_cmd", "[0, 255]"}, true},
		{"NaN", "DRIVER_HEARTBEAT", map[string]float64{"DRIVER_HEARTBEAT_cmd": math.NaN()}, []string{"DRIVER_HEARTBEAT_cmd"}, true},
		{"unknown signal", "MOTOR_CMD", map[string]float64{"Nope": 1}, []string{"MOTOR_CMD", "no signal Nope"}, false},
		{"other mux value", "SENSOR_SONARS", map[string]float64{"SENSOR_SONARS_mux": 0, "SENSOR_SONARS_no_filt_left": 1},
			[]string{"SENSOR_SONARS_no_filt_left", "SENSOR_SONARS_mux = 1"}, false},
		{"unknown message", "Nope", nil, []string{"Nope"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Encode(tt.msg, tt.values)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if errors.Is(err, dbc.ErrRange) != tt.rng {
				t.Errorf("errors.Is(ErrRange) = %v", !tt.rng)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"syntax", "BO_ x", "bad.dbc"},
		{"does not fit", "BU_: A\nBO_ 1 M: 2 A\n SG_ S : 10|8@1+ (1,0) [0|0] \"\" A\n", "does not fit in 2 bytes"},
		{"motorola does not fit", "BU_: A\nBO_ 1 M: 1 A\n SG_ S : 3|8@0+ (1,0) [0|0] \"\" A\n", "does not fit"},
		{"float width", "BU_: A\nBO_ 1 M: 8 A\n SG_ S : 0|16@1+ (1,0) [0|0] \"\" A\nSIG_VALTYPE_ 1 S : 1;\n", "32 bits"},
		{"too long", "BU_: A\nBO_ 1 M: 65 A\n", "exceeds 64"},
		{"duplicate id", "BU_: A\nBO_ 1 M: 1 A\nBO_ 1 N: 1 A\n", "same id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dbc.Parse("bad.dbc", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeUnknownAndShort(t *testing.T) {
	db := load(t, "motohawk.dbc")
	if _, ok := db.Decode(can.Frame{ID: 0x1F1, Len: 8}); ok {
		t.Error("decoded an unknown id")
	}
	if _, ok := db.Decode(can.Frame{ID: 0x1F0, Extended: true, Len: 8}); ok {
		t.Error("decoded an extended frame of a standard id")
	}
	// Two bytes hold AverageRadius and Enable (byte 0) but not all of
	// Temperature (bytes 0-2).
	f := can.Frame{ID: 0x1F0, Len: 2}
	copy(f.Data[:], []byte{0xc0, 0x06})
	d, ok := db.Decode(f)
	if !ok || len(d.Signals) != 2 || d.Signals["Enable"] != 1 {
		t.Errorf("short frame: %v %v", d.Signals, ok)
	}
}

// GenSigStartValue is a raw value for every signal, float ones too
// (canmatrix and cantools: raw × factor + offset): with factor 2, offset 1
// and start value 10 a signal starts at 21, and the frame Encode makes
// without values carries the raw 10.
func TestFloatSignalStartValueIsRaw(t *testing.T) {
	db, err := dbc.Load(filepath.Join("testdata", "startvalue", "float.dbc"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := db.Message("M")
	for _, name := range []string{"I", "F"} {
		s, _ := m.Signal(name)
		if s.StartValue != 21 {
			t.Errorf("%s.StartValue = %v, want 21 (10*2+1)", name, s.StartValue)
		}
	}
	f, err := m.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.Signal("F")
	if raw := math.Float32frombits(uint32(s.Raw(f.Data[:]))); raw != 10 {
		t.Errorf("raw float in the start frame = %v, want 10 (payload %X)", raw, f.Data[:8])
	}
}

// Decode takes any can.Frame: one whose Len is beyond 64 (made by hand
// or from a bad source) decodes what there is, without a panic.
func TestDecodeFrameWithInvalidLen(t *testing.T) {
	db, err := dbc.Load(filepath.Join("testdata", "startvalue", "float.dbc"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Decode(Frame{ID: 0x100, Len: 65}) panicked: %v", p)
		}
	}()
	db.Decode(can.Frame{ID: 0x100, Len: 65})
	(&can.Frame{ID: 0x100, Len: 200}).Payload()
}
