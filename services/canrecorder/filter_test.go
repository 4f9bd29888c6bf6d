package canrecorder

import (
	"errors"
	"testing"

	"github.com/bgkit/bgkit/can"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    can.Filter
		wantErr bool
	}{
		{name: "standard", in: "123:7FF", want: can.Filter{ID: 0x123, Mask: 0x7FF}},
		{name: "lower case", in: "7e0:7f0", want: can.Filter{ID: 0x7E0, Mask: 0x7F0}},
		{name: "extended sets EFF", in: "1ABCDEF0:1FFFFFFF", want: can.Filter{ID: 0x1ABCDEF0 | can.EFFFlag, Mask: 0x1FFFFFFF}},
		{name: "eight digit standard id", in: "00000123:7FF", want: can.Filter{ID: 0x123 | can.EFFFlag, Mask: 0x7FF}},
		{name: "flags in the mask", in: "123:C00007FF", want: can.Filter{ID: 0x123, Mask: 0xC00007FF}},
		{name: "error flag cleared", in: "0:FFFFFFFF", want: can.Filter{ID: 0, Mask: 0xDFFFFFFF}},
		{name: "inverted", in: "200~700", want: can.Filter{ID: 0x200, Mask: 0x700, Invert: true}},
		{name: "inverted prefix", in: "~200:700", want: can.Filter{ID: 0x200, Mask: 0x700, Invert: true}},
		{name: "inverted extended", in: "18DAF100~1FFFFF00", want: can.Filter{ID: 0x18DAF100 | can.EFFFlag, Mask: 0x1FFFFF00, Invert: true}},
		{name: "pass all", in: "0:0", want: can.Filter{}},
		{name: "inverted twice", in: "~200~700", wantErr: true},
		{name: "no mask", in: "123", wantErr: true},
		{name: "empty id", in: ":7FF", wantErr: true},
		{name: "empty mask", in: "123:", wantErr: true},
		{name: "nine digits", in: "123456789:0", wantErr: true},
		{name: "not hex", in: "12G:7FF", wantErr: true},
		{name: "0x prefix", in: "0x123:7FF", wantErr: true},
		{name: "sign", in: "+123:7FF", wantErr: true},
		{name: "error mask", in: "#FFFFFFFF", wantErr: true},
		{name: "join", in: "j", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseFilter(%q) = %v, %v; wantErr %v", tt.in, got, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrFilterSyntax) {
					t.Errorf("error %v does not wrap ErrFilterSyntax", err)
				}
				return
			}
			if got != tt.want {
				t.Errorf("ParseFilter(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"123:7FF", "1ABCDEF0:1FFFFFFF", "~200:700", "200~700", "0:0", "#FF", "j", "~~1:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrFilterSyntax) {
				t.Fatalf("error %v does not wrap ErrFilterSyntax", err)
			}
			return
		}
		if flt.Mask&errFlag != 0 {
			t.Fatalf("%q: mask %X keeps the error flag", s, flt.Mask)
		}
		fr := can.Frame{ID: flt.ID & can.MaxID}
		_ = flt.Match(&fr)
	})
}
