package doip_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/uds/doip"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// unhex decodes hex digits, ignoring spaces and newlines.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func spaced(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return sb.String()
}

var (
	testVIN = doip.VIN([]byte("WVWZZZ1JZXW000001"))
	testEID = doip.EID{0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E}
	testGID = doip.GID{0x10, 0x20, 0x30, 0x40, 0x50, 0x60}
)

// goldenMessages has one message (or more) of every payload type, each with
// a golden file testdata/<name>.hex holding header and payload.
var goldenMessages = []struct {
	name    string
	version byte
	msg     doip.Message
}{
	{"generic_nack", doip.Version2012, doip.GenericNACK{Code: doip.HeaderNACKMessageTooLarge}},
	{"vehicle_identification_request", doip.Version2012, doip.VehicleIdentificationRequest{}},
	{"vehicle_identification_request_default_version", doip.VersionDefault, doip.VehicleIdentificationRequest{}},
	{"vehicle_identification_request_eid", doip.VersionDefault, doip.VehicleIdentificationRequestEID{EID: testEID}},
	{"vehicle_identification_request_vin", doip.VersionDefault, doip.VehicleIdentificationRequestVIN{VIN: testVIN}},
	{"vehicle_announcement", doip.Version2012, doip.VehicleAnnouncement{
		VIN: testVIN, LogicalAddress: 0x1001, EID: testEID, GID: testGID,
	}},
	{"vehicle_announcement_sync_status", doip.Version2019, doip.VehicleAnnouncement{
		VIN: testVIN, LogicalAddress: 0x1001, EID: testEID, GID: testGID,
		FurtherAction: doip.FurtherActionCentralSecurity, SyncStatus: doip.NotSynchronized, HasSyncStatus: true,
	}},
	{"routing_activation_request", doip.Version2012, doip.RoutingActivationRequest{SourceAddress: 0x0E00}},
	{"routing_activation_request_oem", doip.Version2012, doip.RoutingActivationRequest{
		SourceAddress: 0x0E80, ActivationType: doip.ActivationCentralSecurity, OEM: [4]byte{1, 2, 3, 4}, HasOEM: true,
	}},
	{"routing_activation_response", doip.Version2012, doip.RoutingActivationResponse{
		TesterAddress: 0x0E00, EntityAddress: 0x1001, Code: doip.RoutingSuccess,
	}},
	{"routing_activation_response_oem", doip.Version2012, doip.RoutingActivationResponse{
		TesterAddress: 0x0E00, EntityAddress: 0x1001, Code: doip.RoutingMissingAuthentication,
		OEM: [4]byte{0xDE, 0xAD, 0xBE, 0xEF}, HasOEM: true,
	}},
	{"alive_check_request", doip.Version2012, doip.AliveCheckRequest{}},
	{"alive_check_response", doip.Version2012, doip.AliveCheckResponse{SourceAddress: 0x0E00}},
	{"entity_status_request", doip.Version2012, doip.EntityStatusRequest{}},
	{"entity_status_response", doip.Version2012, doip.EntityStatusResponse{NodeType: doip.NodeNode, MaxSockets: 4, OpenSockets: 1}},
	{"entity_status_response_max_data_size", doip.Version2012, doip.EntityStatusResponse{
		NodeType: doip.NodeGateway, MaxSockets: 8, OpenSockets: 2, MaxDataSize: 0x1000, HasMaxDataSize: true,
	}},
	{"power_mode_request", doip.Version2012, doip.PowerModeRequest{}},
	{"power_mode_response", doip.Version2012, doip.PowerModeResponse{Mode: doip.PowerModeReady}},
	{"diagnostic_message", doip.Version2012, doip.DiagnosticMessage{SourceAddress: 0x0E00, TargetAddress: 0xE400, Data: []byte{0x3E, 0x80}}},
	{"diagnostic_ack", doip.Version2012, doip.DiagnosticACK{SourceAddress: 0x1001, TargetAddress: 0x0E00}},
	{"diagnostic_ack_previous", doip.Version2012, doip.DiagnosticACK{
		SourceAddress: 0x1001, TargetAddress: 0x0E00, Previous: []byte{0x22, 0xF1, 0x90},
	}},
	{"diagnostic_nack", doip.Version2012, doip.DiagnosticNACK{
		SourceAddress: 0x1001, TargetAddress: 0x0E00, Code: doip.DiagNACKUnknownTargetAddress,
	}},
	{"diagnostic_nack_previous", doip.Version2012, doip.DiagnosticNACK{
		SourceAddress: 0x1001, TargetAddress: 0x0E00, Code: doip.DiagNACKTargetUnreachable, Previous: []byte{0x10, 0x03},
	}},
}

func TestGolden(t *testing.T) {
	types := make(map[doip.PayloadType]bool)
	for _, tc := range goldenMessages {
		t.Run(tc.name, func(t *testing.T) {
			types[tc.msg.PayloadType()] = true
			got, err := doip.MarshalMessage(tc.version, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(spaced(got)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			want := unhex(t, string(text))
			if !bytes.Equal(got, want) {
				t.Fatalf("encode:\n got %s\nwant %s", spaced(got), spaced(want))
			}
			h, m, err := doip.DecodeMessage(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if h.Version != tc.version || h.Type != tc.msg.PayloadType() || int(h.Length) != len(want)-doip.HeaderLen {
				t.Errorf("header %+v", h)
			}
			if !equalMessages(m, tc.msg) {
				t.Errorf("decode: got %#v, want %#v", m, tc.msg)
			}
		})
	}
	for i := range 0x10000 {
		if pt := doip.PayloadType(i); doip.Known(pt) && !types[pt] {
			t.Errorf("no golden vector for %v", pt)
		}
	}
}

// equalMessages compares messages, treating nil and empty slices alike.
func equalMessages(a, b doip.Message) bool {
	ab, err1 := a.MarshalBinary()
	bb, err2 := b.MarshalBinary()
	return err1 == nil && err2 == nil && a.PayloadType() == b.PayloadType() && bytes.Equal(ab, bb)
}

// TestVectors checks encodings given in ISO 13400-2's terms, independent
// of the golden files.
func TestVectors(t *testing.T) {
	tests := []struct {
		name    string
		version byte
		msg     doip.Message
		want    string
	}{
		{"routing activation request", doip.Version2012, doip.RoutingActivationRequest{SourceAddress: 0x0E00},
			"02 FD 00 05 00 00 00 07 0E 00 00 00 00 00 00"},
		{"diagnostic message", doip.Version2012, doip.DiagnosticMessage{SourceAddress: 0x0E00, TargetAddress: 0xE400, Data: []byte{0x3E, 0x80}},
			"02 FD 80 01 00 00 00 06 0E 00 E4 00 3E 80"},
		{"vehicle identification request", doip.Version2012, doip.VehicleIdentificationRequest{},
			"02 FD 00 01 00 00 00 00"},
		{"vehicle identification request, default version", doip.VersionDefault, doip.VehicleIdentificationRequest{},
			"FF 00 00 01 00 00 00 00"},
		{"generic NACK invalid payload length", doip.Version2012, doip.GenericNACK{Code: doip.HeaderNACKInvalidPayloadLength},
			"02 FD 00 00 00 00 00 01 04"},
		{"routing activation response success", doip.Version2019,
			doip.RoutingActivationResponse{TesterAddress: 0x0E00, EntityAddress: 0x1001, Code: doip.RoutingSuccess},
			"03 FC 00 06 00 00 00 09 0E 00 10 01 10 00 00 00 00"},
		{"alive check response", doip.Version2012, doip.AliveCheckResponse{SourceAddress: 0x0E00},
			"02 FD 00 08 00 00 00 02 0E 00"},
		{"diagnostic NACK unknown target", doip.Version2012,
			doip.DiagnosticNACK{SourceAddress: 0xE400, TargetAddress: 0x0E00, Code: doip.DiagNACKUnknownTargetAddress},
			"02 FD 80 03 00 00 00 05 E4 00 0E 00 03"},
		{"entity status response", doip.Version2012,
			doip.EntityStatusResponse{NodeType: doip.NodeNode, MaxSockets: 1, OpenSockets: 0, MaxDataSize: 0xFFF, HasMaxDataSize: true},
			"02 FD 40 02 00 00 00 07 01 01 00 00 00 0F FF"},
		{"power mode response", doip.Version2012, doip.PowerModeResponse{Mode: doip.PowerModeNotSupported},
			"02 FD 40 04 00 00 00 01 02"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := doip.MarshalMessage(tc.version, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("got %s, want %s", spaced(got), tc.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     doip.Header
		wantErr  error
		wantCode doip.HeaderNACKCode
	}{
		{name: "2012", in: "02 FD 80 01 00 00 00 06", want: doip.Header{Version: 2, Type: 0x8001, Length: 6}},
		{name: "default version", in: "FF 00 00 01 00 00 00 00", want: doip.Header{Version: 0xFF, Type: 1}},
		{name: "large length", in: "03 FC 12 34 FF FF FF FF", want: doip.Header{Version: 3, Type: 0x1234, Length: 0xFFFFFFFF}},
		{name: "bad inverse", in: "02 FE 80 01 00 00 00 06", wantErr: doip.HeaderNACKIncorrectPattern},
		{name: "inverse not inverted", in: "02 02 80 01 00 00 00 06", wantErr: doip.HeaderNACKIncorrectPattern},
		{name: "short", in: "02 FD 80 01 00 00 00", wantErr: doip.ErrTruncated},
		{name: "empty", in: "", wantErr: doip.ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h doip.Header
			err := h.UnmarshalBinary(unhex(t, tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != tc.want {
				t.Fatalf("got %+v, want %+v", h, tc.want)
			}
			b, err := h.MarshalBinary()
			if err != nil || !bytes.Equal(b, unhex(t, tc.in)) {
				t.Fatalf("marshal: %s, %v", spaced(b), err)
			}
		})
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"bad inverse", "02 FF 00 07 00 00 00 00", doip.HeaderNACKIncorrectPattern},
		{"unknown type", "02 FD 12 34 00 00 00 00", doip.HeaderNACKUnknownPayloadType},
		{"alive check request with payload", "02 FD 00 07 00 00 00 01 00", doip.HeaderNACKInvalidPayloadLength},
		{"routing activation request of 8 bytes", "02 FD 00 05 00 00 00 08 0E 00 00 00 00 00 00 00", doip.HeaderNACKInvalidPayloadLength},
		{"diagnostic message without user data", "02 FD 80 01 00 00 00 04 0E 00 E4 00", doip.HeaderNACKInvalidPayloadLength},
		{"announcement of 31 bytes", "02 FD 00 04 00 00 00 1F" + strings.Repeat(" 00", 31), doip.HeaderNACKInvalidPayloadLength},
		{"trailing bytes", "02 FD 00 08 00 00 00 02 0E 00 00", doip.HeaderNACKInvalidPayloadLength},
		{"truncated payload", "02 FD 80 01 00 00 00 06 0E 00 E4 00 3E", doip.ErrTruncated},
		{"truncated header", "02 FD 80", doip.ErrTruncated},
		{"huge announced length", "02 FD 80 01 FF FF FF FF 0E 00 E4 00 3E", doip.ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m, err := doip.DecodeMessage(unhex(t, tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if m != nil {
				t.Fatalf("message %#v with error", m)
			}
		})
	}
}

func TestUnmarshalPayloadLength(t *testing.T) {
	for _, tc := range goldenMessages {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.msg.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			// One byte more is wrong for every fixed-size type; for the
			// open-ended diagnostic types one byte less than the minimum is.
			bad := append(p, 0)
			if doip.ValidLength(tc.msg.PayloadType(), uint32(len(bad))) {
				bad = make([]byte, 4)
			}
			m := newMessage(tc.msg.PayloadType())
			if err := m.UnmarshalBinary(bad); !errors.Is(err, doip.HeaderNACKInvalidPayloadLength) {
				t.Fatalf("unmarshal %d bytes: err = %v", len(bad), err)
			}
			if err := m.UnmarshalBinary(p); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
		})
	}
}

type unmarshaler interface {
	UnmarshalBinary([]byte) error
}

func newMessage(pt doip.PayloadType) unmarshaler {
	switch pt {
	case doip.TypeGenericNACK:
		return new(doip.GenericNACK)
	case doip.TypeVehicleIdentificationRequest:
		return new(doip.VehicleIdentificationRequest)
	case doip.TypeVehicleIdentificationRequestEID:
		return new(doip.VehicleIdentificationRequestEID)
	case doip.TypeVehicleIdentificationRequestVIN:
		return new(doip.VehicleIdentificationRequestVIN)
	case doip.TypeVehicleAnnouncement:
		return new(doip.VehicleAnnouncement)
	case doip.TypeRoutingActivationRequest:
		return new(doip.RoutingActivationRequest)
	case doip.TypeRoutingActivationResponse:
		return new(doip.RoutingActivationResponse)
	case doip.TypeAliveCheckRequest:
		return new(doip.AliveCheckRequest)
	case doip.TypeAliveCheckResponse:
		return new(doip.AliveCheckResponse)
	case doip.TypeEntityStatusRequest:
		return new(doip.EntityStatusRequest)
	case doip.TypeEntityStatusResponse:
		return new(doip.EntityStatusResponse)
	case doip.TypePowerModeRequest:
		return new(doip.PowerModeRequest)
	case doip.TypePowerModeResponse:
		return new(doip.PowerModeResponse)
	case doip.TypeDiagnosticMessage:
		return new(doip.DiagnosticMessage)
	case doip.TypeDiagnosticACK:
		return new(doip.DiagnosticACK)
	case doip.TypeDiagnosticNACK:
		return new(doip.DiagnosticNACK)
	}
	panic("no such payload type")
}

func TestMarshalEmptyDiagnosticMessage(t *testing.T) {
	if _, err := doip.MarshalMessage(doip.Version2012, doip.DiagnosticMessage{SourceAddress: 1, TargetAddress: 2}); err == nil {
		t.Fatal("no error for a diagnostic message without user data")
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"payload type", doip.TypeRoutingActivationRequest.String(), "routing activation request"},
		{"unknown payload type", doip.PayloadType(0x1234).String(), "payload type 0x1234"},
		{"header NACK", doip.HeaderNACKMessageTooLarge.Error(), "generic header NACK: message too large"},
		{"diag NACK", doip.DiagNACKUnknownTargetAddress.Error(), "diagnostic message NACK: unknown target address"},
		{"routing code", doip.RoutingUnknownSourceAddress.Error(), "routing activation: unknown source address"},
		{"reserved routing code", doip.RoutingActivationCode(0x42).String(), "reserved code 0x42"},
		{"VIN", testVIN.String(), "WVWZZZ1JZXW000001"},
		{"EID", testEID.String(), "00:1a:2b:3c:4d:5e"},
		{"power mode", doip.PowerModeReady.String(), "ready"},
		{"reserved power mode", doip.PowerMode(9).String(), "reserved mode 0x09"},
		{"header", doip.Header{Version: 2, Type: doip.TypeAliveCheckRequest}.String(), "v0x02 alive check request len 0"},
		{"reserved header NACK", doip.HeaderNACKCode(7).String(), "reserved code 0x07"},
		{"reserved diag NACK", doip.DiagNACKCode(0).String(), "reserved code 0x00"},
		{"GID", testGID.String(), "10:20:30:40:50:60"},
		{"header error", (&doip.HeaderError{Header: doip.Header{Version: 2, Type: 0x1234, Length: 1}, Code: doip.HeaderNACKUnknownPayloadType}).Error(),
			"doip: header v0x02 payload type 0x1234 len 1: unknown payload type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestParseVIN(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"17 characters", "WVWZZZ1JZXW000001", false},
		{"short", "WVWZZZ1JZXW00000", true},
		{"long", "WVWZZZ1JZXW0000012", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := doip.ParseVIN(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && v.String() != tc.in {
				t.Fatalf("got %q", v)
			}
		})
	}
}
