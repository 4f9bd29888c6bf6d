package service

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/bgkit/bgkit/hexid"
)

type errCyclic struct {
	ID       hexid.ID `json:"id" validate:"required,lte=0x7FF"`
	PeriodMS float64  `json:"period_ms" validate:"gt=0"`
}

type errArgs struct {
	IntervalMS  int           `json:"interval_ms" validate:"gte=0,lte=60000"`
	Step        int           `json:"step" validate:"required,min=1"`
	TxID        hexid.ID      `json:"tx_id" validate:"lte=0x1FFFFFFF"`
	Mode        string        `json:"mode" validate:"omitempty,oneof=random fixed"`
	Name        string        `json:"name" validate:"omitempty,max=4"`
	PadByte     *uint8        `json:"pad_byte"`
	Enabled     bool          `json:"enabled"`
	DoIPAddress string        `json:"doip_address"`
	Target      uint16        `json:"target_address" validate:"required_with=DoIPAddress"`
	Cyclic      []errCyclic   `json:"cyclic" validate:"max=2,dive"`
	Filters     []string      `json:"filters" validate:"min=1"`
	Timeout     time.Duration `json:"timeout"`
	Replay      *struct {
		File string `json:"file" validate:"required"`
	} `json:"replay"`
}

// TestErrorText is the table of argument errors as users read them: the
// JSON field, the rule in words, what was given; no Go types or tags.
func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"below minimum", `{"step":1,"interval_ms":-5,"filters":["a"]}`, "interval_ms: must be at least 0, got -5"},
		{"above maximum", `{"step":1,"interval_ms":70000,"filters":["a"]}`, "interval_ms: must be at most 60000, got 70000"},
		{"missing", `{"filters":["a"]}`, "step: is required"},
		{"two at once", `{"interval_ms":-1}`, "interval_ms: must be at least 0, got -1; step: is required; filters: must have at least 1 item, got 0 items"},
		{"string for number", `{"interval_ms":"x"}`, `interval_ms: must be a number, got string "x"`},
		{"fraction for integer", `{"interval_ms":1.5}`, "interval_ms: must be a whole number from -9223372036854775808 to 9223372036854775807, got 1.5"},
		{"too big for a byte", `{"pad_byte":300}`, "pad_byte: must be a whole number from 0 to 255, got 300"},
		{"number for bool", `{"enabled":1}`, "enabled: must be true or false, got number 1"},
		{"string for bool", `{"enabled":"yes"}`, `enabled: must be true or false, got string "yes"`},
		{"bool for string", `{"mode":true}`, "mode: must be a string, got true"},
		{"object for list", `{"filters":{}}`, "filters: must be a list, got an object"},
		{"hex too big", `{"step":1,"filters":["a"],"tx_id":"0x20000000"}`, "tx_id: must be at most 0x1FFFFFFF, got 0x20000000"},
		{"hex not hex", `{"tx_id":"zz"}`, `tx_id: must be a number or a hex string such as "0x7E8", got "zz"`},
		{"hex negative", `{"tx_id":-1}`, `tx_id: must be a number or a hex string such as "0x7E8", got -1`},
		{"hex in a list", `{"cyclic":[{"id":"0x7E0","period_ms":10},{"id":"nope"}]}`, `cyclic[1].id: must be a number or a hex string such as "0x7E8", got "nope"`},
		{"rule in a list", `{"step":1,"filters":["a"],"cyclic":[{"id":"0x800","period_ms":10}]}`, "cyclic[0].id: must be at most 0x7FF, got 0x800"},
		{"rule in a list item", `{"step":1,"filters":["a"],"cyclic":[{"id":1,"period_ms":0}]}`, "cyclic[0].period_ms: must be more than 0, got 0"},
		{"one of", `{"step":1,"filters":["a"],"mode":"chaos"}`, `mode: must be one of random, fixed, got "chaos"`},
		{"string length", `{"step":1,"filters":["a"],"name":"abcdef"}`, `name: must be at most 4 characters long, got "abcdef"`},
		{"required with", `{"step":1,"filters":["a"],"doip_address":"127.0.0.1:13400"}`, "target_address: is required when doip_address is set"},
		{"nested required", `{"step":1,"filters":["a"],"replay":{}}`, "replay.file: is required"},
		{"unknown field", `{"intervl_ms":5}`, `unknown field "intervl_ms" (known: cyclic, doip_address, enabled, filters, interval_ms, mode, name, pad_byte, replay, step, target_address, timeout, tx_id)`},
		{"unknown nested field", `{"replay":{"fil":"x"}}`, `replay: unknown field "fil" (known: file)`},
		{"unknown field in a list", `{"cyclic":[{"id":1,"period":5}]}`, `cyclic[0]: unknown field "period" (known: id, period_ms)`},
		{"nested type", `{"replay":{"file":5}}`, "replay.file: must be a string, got number 5"},
		{"type in a list", `{"cyclic":[{"id":1,"period_ms":1},{"id":2,"period_ms":"soon"}]}`, `cyclic[1].period_ms: must be a number, got string "soon"`},
		{"duration", `{"timeout":"5s"}`, `timeout: must be a number of nanoseconds, got string "5s"`},
		{"field twice", `{"step":1,"filters":["a"],"interval_ms":5,"interval_ms":6000}`, `interval_ms: given twice`},
		{"field twice in other case", `{"step":1,"filters":["a"],"interval_ms":5,"INTERVAL_MS":6000}`, `INTERVAL_MS: given twice (also as "interval_ms")`},
		{"field twice in a list item", `{"step":1,"filters":["a"],"cyclic":[{"id":1,"period_ms":1},{"id":1,"period_ms":1,"Id":2}]}`, `cyclic[1].Id: given twice (also as "id")`},
		{"field twice, escaped", `{"step":1,"filters":["a"],"\u0073tep":2}`, `step: given twice`},
		{"null for a number", `{"step":1,"filters":["a"],"interval_ms":null}`, "interval_ms: must be a number, got null"},
		{"null for a bool", `{"step":1,"filters":["a"],"enabled":null}`, "enabled: must be true or false, got null"},
		{"null for a hex id", `{"step":1,"filters":["a"],"tx_id":null}`, `tx_id: must be a number or a hex string such as "0x7E8", got null`},
		{"null in a list", `{"step":1,"filters":["a",null]}`, "filters[1]: must be a string, got null"},
		{"null in a list item", `{"step":1,"filters":["a"],"cyclic":[{"id":1,"period_ms":null}]}`, "cyclic[0].period_ms: must be a number, got null"},
		{"list for object", `[1]`, "must be an object, got a list"},
		{"not JSON", `{"step":`, "invalid JSON: unexpected end of input"},
		{"bad JSON", `{"step" 1}`, "invalid JSON at byte 9: invalid character '1' after object key"},
		{"trailing data", `{"step":1} {}`, "invalid JSON: data after the value at byte 12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a errArgs
			err := Decode([]byte(tc.in), &a)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Decode(%s)\n got: %v\nwant: %s", tc.in, err, tc.want)
			}
			var ve *ValidationError
			if errors.As(err, &ve) == errors.Is(err, ErrSyntax) {
				t.Errorf("%T: want either a *ValidationError or ErrSyntax", err)
			}
		})
	}
	var a errArgs
	if err := Decode([]byte(`{"step":2,"filters":["a"],"tx_id":"7E8","cyclic":[{"id":2016,"period_ms":1}]}`), &a); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	if a.TxID != 0x7E8 || a.Cyclic[0].ID != 0x7E0 {
		t.Errorf("decoded %+v", a)
	}
	// null stands for nothing where Go has nothing: a pointer, a struct,
	// a list.
	a = errArgs{}
	if err := Decode([]byte(`{"step":1,"filters":["a"],"pad_byte":null,"replay":null,"cyclic":null}`), &a); err != nil {
		t.Fatalf("null for a pointer, a struct or a list: %v", err)
	}
	// A map's keys are told apart by case, as Go's are.
	var m struct {
		Env map[string]string `json:"env"`
	}
	if err := Decode([]byte(`{"env":{"PATH":"a","path":"b"}}`), &m); err != nil || len(m.Env) != 2 {
		t.Fatalf("map keys in two cases: %v %v", m.Env, err)
	}
	if err := Decode([]byte(`{"env":{"PATH":"a","PATH":"b"}}`), &m); err == nil || err.Error() != "env.PATH: given twice" {
		t.Fatalf("a map key twice: %v", err)
	}
}

func TestRuleWords(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		v    any
		want string
	}{
		{"gte=0,lte=60000", 0, "must be from 0 to 60000"},
		{"gt=0,lte=3600000", 0.0, "must be more than 0 and at most 3600000"},
		{"required,min=1", 0, "is required, must be at least 1"},
		{"omitnil,gte=0", new(float64), "must be at least 0"},
		{"lte=0x1FFFFFFF", hexid.ID(0), "must be at most 0x1FFFFFFF"},
		{"lte=536870911", hexid.ID(0), "must be at most 0x1FFFFFFF"},
		{"max=16", "", "must be at most 16 characters long"},
		{"min=1,max=3", []int{}, "must have at least 1 item, must have at most 3 items"},
		{"max=4,dive,required", []string{}, "must have at most 4 items, each item is required"},
		{"oneof=a b", "", "must be one of a, b"},
		{"hostname_port", "", "must be host:port"},
		{"frobnicate=3", "", "must satisfy frobnicate=3"},
		{"", 0, ""},
	} {
		if got := RuleWords(tc.tag, reflectTypeOf(tc.v), nil); got != tc.want {
			t.Errorf("RuleWords(%q, %T) = %q, want %q", tc.tag, tc.v, got, tc.want)
		}
	}
}

func reflectTypeOf(v any) reflect.Type { return reflect.TypeOf(v) }

// BenchmarkDecodeStrict: a typical object argument, decoded strictly
// (what a call with an object argument pays, the check for fields given
// twice included).
func BenchmarkDecodeStrict(b *testing.B) {
	data := []byte(`{"step":2,"interval_ms":100,"filters":["a","b"],"tx_id":"7E8","cyclic":[{"id":2016,"period_ms":1}]}`)
	for b.Loop() {
		var a errArgs
		if err := decodeStrict(data, &a); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLooseInputNullsAndDuplicates: a method's argument that is not a
// struct (decoded without the strict checks) still refuses what
// encoding/json would take silently: null for a number in a list or a
// map (left 0), and a map key given twice (the first lost).
func TestLooseInputNullsAndDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		v    any
		want string // "" for no error
	}{
		{"null in a list of numbers", `[1,null,3]`, new([]int), "[1]: must be a number, got null"},
		{"null for a map's number", `{"a":1,"b":null}`, new(map[string]int), "b: must be a number, got null"},
		{"null in a map of lists", `{"a":[null]}`, new(map[string][]string), "a[0]: must be a string, got null"},
		{"key twice", `{"a":1,"a":2}`, new(map[string]int), "a: given twice"},
		{"key twice, deeper", `[{"x":1},{"y":1,"y":2}]`, new([]map[string]int), "[1].y: given twice"},
		{"null for anything", `{"a":null,"b":[null]}`, new(map[string]any), ""},
		{"null for a pointer", `[null,1]`, new([]*int), ""},
		{"keys in two cases", `{"a":1,"A":2}`, new(map[string]int), ""},
		{"a number", `5`, new(int), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeInput([]byte(tc.in), tc.v, false)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("decodeInput(%s): %v", tc.in, err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Fatalf("decodeInput(%s)\n got: %v\nwant: %s", tc.in, err, tc.want)
			}
		})
	}
}
