package ecusim

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

func ptr[T any](v T) *T { return &v }

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		wantErr string // part of the message; "" for success
	}{
		{name: "zero value", args: Args{}},
		{name: "everything", args: Args{
			Bus: "socketcan:can0", RxID: 0x18DA10F1, TxID: 0x18DAF110, FuncID: 0x18DB33F1, Extended: true, FD: true,
			Padding: ptr(false), DoIPListen: "127.0.0.1:0", LogicalAddress: 0x1001, FunctionalAddress: 0xE401,
			VIN: "WVWZZZ1JZ3W386752", P2Ms: 65535, P2StarMs: 655350, S3Ms: 1,
			DIDs:          map[hexid.ID]string{0x0102: "0xAA BB", 0xF18C: "00"},
			SecurityLevel: 0x7D, Seed: "01", KeyXOR: "02", SecurityAttempts: 255, SecurityDelayMs: 1, WriteSecurity: true,
		}},
		{name: "bus", args: Args{Bus: "can0"}, wantErr: "bus:"},
		{name: "pad_byte without padding", args: Args{Padding: ptr(false), PadByte: ptr[uint8](0)}, wantErr: "pad_byte with padding false"},
		{name: "bus name", args: Args{Bus: "virtual:a.b"}, wantErr: "bus:"},
		{name: "11-bit rx_id", args: Args{RxID: 0x800}, wantErr: "rx_id 0x800 does not fit"},
		{name: "11-bit func_id", args: Args{FuncID: 0x18DB33F1}, wantErr: "func_id"},
		{name: "29-bit id", args: Args{TxID: 0x20000000, Extended: true}, wantErr: "tx_id"},
		{name: "same ids", args: Args{RxID: 0x7E8}, wantErr: "must differ"},
		{name: "func_id is rx_id", args: Args{FuncID: 0x7E0}, wantErr: "must differ"},
		{name: "vin", args: Args{VIN: "SHORT"}, wantErr: "vin"},
		{name: "addresses", args: Args{LogicalAddress: 0xE400}, wantErr: "logical_address and functional_address"},
		{name: "doip_listen", args: Args{DoIPListen: "nope"}, wantErr: "doip_listen"},
		{name: "p2_ms", args: Args{P2Ms: 65536}, wantErr: "p2_ms"},
		{name: "p2_star_ms", args: Args{P2StarMs: -1}, wantErr: "p2_star_ms"},
		{name: "s3_ms", args: Args{S3Ms: -1}, wantErr: "s3_ms"},
		{name: "did too long", args: Args{DIDs: map[hexid.ID]string{0x1F190: "00"}}, wantErr: "dids: 0x1F190: a data identifier has 4 hex digits at most"},
		{name: "did value not hex", args: Args{DIDs: map[hexid.ID]string{0xF190: "XYZ"}}, wantErr: "dids: 0xF190"},
		{name: "did value odd", args: Args{DIDs: map[hexid.ID]string{0xF190: "ABC"}}, wantErr: "dids: 0xF190"},
		{name: "did value empty", args: Args{DIDs: map[hexid.ID]string{0xF190: ""}}, wantErr: "dids: 0xF190: empty value"},
		{name: "logical_address", args: Args{LogicalAddress: 0x10000}, wantErr: "logical_address"},
		{name: "even level", args: Args{SecurityLevel: 2}, wantErr: "security_level 0x02"},
		{name: "reserved level", args: Args{SecurityLevel: 0x7F}, wantErr: "security_level 0x7F"},
		{name: "key_xor", args: Args{KeyXOR: "XX"}, wantErr: "key_xor"},
		{name: "seed hex", args: Args{Seed: "1122334"}, wantErr: "seed"},
		{name: "seed length", args: Args{Seed: "112233"}, wantErr: "seed has 3 bytes, key_xor 4"},
		{name: "seed zero", args: Args{Seed: "00000000"}, wantErr: "all zeros"},
		{name: "attempts", args: Args{SecurityAttempts: 256}, wantErr: "security_attempts"},
		{name: "delay", args: Args{SecurityDelayMs: -5}, wantErr: "security_delay_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.args)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				s.ecu.close()
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error with %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q: want ErrInvalidArgs and %q", err, tt.wantErr)
			}
		})
	}
}

// Identifiers take every hex form in JSON (and so in rig files), and print
// as 0x hex.
func TestArgsJSONHex(t *testing.T) {
	in := `{"rx_id": "0x7E1", "tx_id": "7E9", "func_id": 2015, "logical_address": "1001",
		"functional_address": "0xE401", "dids": {"F18C": "01", "0x0102": "02", "258": "03"}}`
	var a Args
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	want := Args{RxID: 0x7E1, TxID: 0x7E9, FuncID: 0x7DF, LogicalAddress: 0x1001, FunctionalAddress: 0xE401,
		DIDs: map[hexid.ID]string{0xF18C: "01", 0x0102: "02", 0x0258: "03"}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("decoded %+v\nwant    %+v", a, want)
	}
	out, err := json.Marshal(Args{RxID: 0x7E0, DIDs: map[hexid.ID]string{0xF190: "00"}})
	if err != nil || !strings.Contains(string(out), `"rx_id":"0x7E0"`) || !strings.Contains(string(out), `"dids":{"0xF190":"00"}`) {
		t.Fatalf("encoded %s, %v", out, err)
	}
	for _, bad := range []string{`{"rx_id": "7G0"}`, `{"dids": {"F1GG": "00"}}`, `{"rx_id": -1}`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// Errors carry the kind once, then "invalid arguments" once, whatever the
// wrapped error says.
func TestNewErrorPrefix(t *testing.T) {
	for _, msg := range []string{"p2_ms: must be at least 0", "invalid arguments: p2_ms: fails"} {
		if got := (invalidArgs{errors.New(msg)}).Error(); strings.Count(got, "invalid arguments") != 1 || !strings.HasPrefix(got, "invalid arguments: p2_ms") {
			t.Errorf("%q → %q", msg, got)
		}
	}
	for _, a := range []Args{{P2Ms: -1}, {RxID: 0x800}} {
		_, err := New(a)
		if err == nil || !strings.HasPrefix(err.Error(), "ecu-sim: invalid arguments: ") || strings.Count(err.Error(), "invalid arguments") != 1 {
			t.Errorf("error %q", err)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.ecu.close()
	a := s.args
	if a.Bus != DefaultBus || a.RxID != 0x7E0 || a.TxID != 0x7E8 || a.FuncID != 0x7DF ||
		a.LogicalAddress != 0x1000 || a.FunctionalAddress != 0xE400 || a.VIN != DefaultVIN ||
		a.SecurityLevel != 1 || a.KeyXOR != "AABBCCDD" || a.SecurityAttempts != 3 || a.SecurityDelayMs != 1000 {
		t.Errorf("args with defaults: %+v", a)
	}
	c := s.ecu.cfg
	if c.p2 != 50*time.Millisecond || c.p2Star != 5*time.Second || c.s3 != 5*time.Second ||
		c.delay != time.Second || c.maxAttempts != 3 || c.seed != nil || string(c.dids[DIDVIN]) != DefaultVIN {
		t.Errorf("config: %+v", c)
	}
	if s.tp.TxID != 0x7E8 || s.tp.RxID != 0x7E0 || s.tp.FunctionalID != 0x7DF || !s.tp.AcceptFunctional {
		t.Errorf("isotp config: %+v", s.tp)
	}
	if s.doipCfg != nil {
		t.Error("DoIP configured without doip_listen")
	}
	if got := service.DeriveName("ECUSimService"); got != Name {
		t.Errorf("Name %q, derived %q", Name, got)
	}
}

func TestNewPadding(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		wantB   byte
		wantPad bool
	}{
		{name: "default", args: Args{}, wantB: 0xCC, wantPad: true},
		{name: "on", args: Args{Padding: ptr(true)}, wantB: 0xCC, wantPad: true},
		{name: "byte", args: Args{PadByte: ptr[uint8](0x55)}, wantB: 0x55, wantPad: true},
		{name: "off", args: Args{Padding: ptr(false)}, wantPad: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			defer s.ecu.close()
			b, on := s.tp.Padding.Byte()
			if on != tt.wantPad || (on && b != tt.wantB) {
				t.Errorf("padding %v, want %v 0x%02X", s.tp.Padding, tt.wantPad, tt.wantB)
			}
		})
	}
}

func TestParseHelpers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "plain", in: "0102", want: "0102"},
		{name: "0x", in: "0xABcd", want: "abcd"},
		{name: "spaces", in: "AB CD EF", want: "abcdef"},
		{name: "empty", in: "", want: ""},
		{name: "odd", in: "ABC", wantErr: true},
		{name: "junk", in: "zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := parseHex(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseHex(%q) error %v", tt.in, err)
			}
			if err == nil && hex.EncodeToString(b) != tt.want {
				t.Errorf("parseHex(%q) = %X", tt.in, b)
			}
		})
	}
}
