package service

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// The fast paths must give what encoding/json gives, value and error.
func TestEncodeJSONLikeEncodingJSON(t *testing.T) {
	for _, v := range []any{
		0, -1, 42, math.MaxInt64, math.MinInt64, int32(-7), int64(9), uint(3), uint64(math.MaxUint64), uint32(5),
		true, false, nil, "", "plain text 123", "quote\"", "back\\slash", "<html>&", "tab\t", "é", "\x7f",
		1.5, []int{1}, map[string]int{"a": 1}, struct{ A int }{1},
	} {
		got, err := EncodeJSON(v)
		want, wantErr := json.Marshal(v)
		if string(got) != string(want) || (err == nil) != (wantErr == nil) {
			t.Errorf("EncodeJSON(%#v) = %s, %v; encoding/json: %s, %v", v, got, err, want, wantErr)
		}
	}
}

func TestDecodeJSONLikeEncodingJSON(t *testing.T) {
	inputs := []string{
		"0", "-0", "1", "-1", "42", "01", "+1", "1.0", "1e3", "-", "", " 1", "1 ", "null", "true", "false",
		"9223372036854775807", "9223372036854775808", "-9223372036854775809", "2147483648", "4294967296",
		"18446744073709551615", "18446744073709551616", `"x"`, `""`, `"a\"b"`, `"é"`, `"<&>"`, "\"\x01\"", `"`, `"a`,
		"tru", "True", "[1]", "{}",
	}
	types := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[int64](), reflect.TypeFor[int32](), reflect.TypeFor[uint](),
		reflect.TypeFor[uint64](), reflect.TypeFor[bool](), reflect.TypeFor[string](),
	}
	for _, typ := range types {
		for _, in := range inputs {
			got, want := reflect.New(typ), reflect.New(typ)
			err := DecodeJSON([]byte(in), got.Interface())
			wantErr := json.Unmarshal([]byte(in), want.Interface())
			if !reflect.DeepEqual(got.Elem().Interface(), want.Elem().Interface()) || (err == nil) != (wantErr == nil) ||
				(err != nil && err.Error() != wantErr.Error()) {
				t.Errorf("DecodeJSON(%q, *%s) = %v, %v; encoding/json: %v, %v", in, typ, got.Elem(), err, want.Elem(), wantErr)
			}
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{"1", "-0", "01", `"x"`, "true", "9223372036854775808"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range [][2]any{{new(int), new(int)}, {new(uint64), new(uint64)}, {new(string), new(string)}, {new(bool), new(bool)}} {
			err := DecodeJSON(data, p[0])
			wantErr := json.Unmarshal(data, p[1])
			if !reflect.DeepEqual(p[0], p[1]) || (err == nil) != (wantErr == nil) {
				t.Fatalf("DecodeJSON(%q) = %v, %v; encoding/json: %v, %v", data, reflect.ValueOf(p[0]).Elem(), err, reflect.ValueOf(p[1]).Elem(), wantErr)
			}
		}
	})
}
