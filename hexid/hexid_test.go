package hexid_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/bgkit/bgkit/hexid"
)

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    hexid.ID
		wantErr bool
	}{
		{name: "number", in: `2024`, want: 0x7E8},
		{name: "0x string", in: `"0x7E8"`, want: 0x7E8},
		{name: "0X lower", in: `"0X7e8"`, want: 0x7E8},
		{name: "bare hex", in: `"7E8"`, want: 0x7E8},
		{name: "bare digits are hex", in: `"123"`, want: 0x123},
		{name: "29-bit", in: `"1ABCDEF0"`, want: 0x1ABCDEF0},
		{name: "max", in: `"FFFFFFFF"`, want: 0xFFFFFFFF},
		{name: "too long", in: `"1FFFFFFFF"`, wantErr: true},
		{name: "negative", in: `-1`, wantErr: true},
		{name: "fraction", in: `1.5`, wantErr: true},
		{name: "not hex", in: `"0xZZ"`, wantErr: true},
		{name: "empty", in: `""`, wantErr: true},
		{name: "only prefix", in: `"0x"`, wantErr: true},
		{name: "sign", in: `"+7E8"`, wantErr: true},
		{name: "bool", in: `true`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id hexid.ID
			err := json.Unmarshal([]byte(tt.in), &id)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) = %v, %v", tt.in, id, err)
			}
			if err == nil && id != tt.want {
				t.Fatalf("Unmarshal(%s) = %v, want %v", tt.in, id, tt.want)
			}
			if err != nil && tt.in != "true" && !errors.Is(err, hexid.ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	type args struct {
		ID  hexid.ID            `json:"id"`
		Map map[hexid.ID]string `json:"map"`
	}
	in := args{ID: 0x7E8, Map: map[hexid.ID]string{0xF190: "VIN"}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"id":"0x7E8","map":{"0xF190":"VIN"}}`; got != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
	var out args
	if err := json.Unmarshal(data, &out); err != nil || out.ID != in.ID || out.Map[0xF190] != "VIN" {
		t.Fatalf("round trip = %+v, %v", out, err)
	}
}

func TestJSONSchema(t *testing.T) {
	s := hexid.ID(0).JSONSchema()
	if len(s.OneOf) != 2 || s.OneOf[0].Type != "integer" || s.OneOf[1].Type != "string" {
		t.Fatalf("schema = %+v, want oneOf integer, string", s)
	}
	re := regexp.MustCompile(s.OneOf[1].Pattern)
	for _, in := range []string{"0x7E8", "7E8", "0X1fffffff", "F190"} {
		if !re.MatchString(in) {
			t.Errorf("pattern refuses %q", in)
		}
		if _, err := hexid.Parse(in); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
	for _, in := range []string{"", "0x", "x7E8", "7E8G", "123456789", "-1"} {
		if re.MatchString(in) {
			t.Errorf("pattern accepts %q", in)
		}
		if _, err := hexid.Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}
