package service

import (
	"encoding/json"
	"iter"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/hexid"
)

type schemaInner struct {
	ID   hexid.ID `json:"id" validate:"required,lte=0x7FF" doc:"CAN identifier."`
	Data string   `json:"data" validate:"max=16" example:"DEADBEEF"`
}

type schemaArgs struct {
	IntervalMS int                 `json:"interval_ms" validate:"gte=0,lte=60000" doc:"Period between requests."`
	Step       int                 `json:"step" validate:"required,min=1"`
	Mode       string              `json:"mode" validate:"omitempty,oneof=random fixed"`
	TxID       hexid.ID            `json:"tx_id" validate:"lte=0x1FFFFFFF"`
	Timeout    time.Duration       `json:"timeout"`
	Padding    *bool               `json:"padding,omitempty"`
	Listen     string              `json:"listen" validate:"required_with=TxID"`
	Cyclic     []schemaInner       `json:"cyclic,omitempty" validate:"max=4,dive"`
	DIDs       map[hexid.ID]string `json:"dids,omitempty"`
	Hidden     int                 `json:"-"`
	private    int
	Nested     struct {
		Port int `json:"port" validate:"min=1,max=65535"`
	} `json:"nested"`
}

type schemaTree struct {
	Name     string       `json:"name"`
	Children []schemaTree `json:"children"`
}

// schemaMap decodes a schema into generic JSON for checks.
func schemaMap(t *testing.T, typ reflect.Type) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(JSONSchema(typ), &m); err != nil {
		t.Fatalf("schema of %s: %v", typ, err)
	}
	return m
}

// at walks a decoded schema along keys.
func at(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func TestSchemaOfArgs(t *testing.T) {
	m := schemaMap(t, reflect.TypeFor[schemaArgs]())
	for _, tc := range []struct {
		path []string
		want any
	}{
		{[]string{"type"}, "object"},
		{[]string{"additionalProperties"}, false},
		{[]string{"required"}, []any{"step"}},
		{[]string{"properties", "interval_ms", "type"}, "integer"},
		{[]string{"properties", "interval_ms", "minimum"}, 0.0},
		{[]string{"properties", "interval_ms", "maximum"}, 60000.0},
		{[]string{"properties", "interval_ms", "description"}, "Period between requests."},
		{[]string{"properties", "interval_ms", SchemaRuleKey}, "must be from 0 to 60000"},
		{[]string{"properties", "step", "minimum"}, 1.0},
		{[]string{"properties", "mode", "enum"}, []any{"random", "fixed"}},
		{[]string{"properties", "tx_id", "title"}, hexid.SchemaTitle},
		{[]string{"properties", "tx_id", SchemaRuleKey}, "must be at most 0x1FFFFFFF"},
		{[]string{"properties", "timeout", "type"}, "integer"},
		{[]string{"properties", "timeout", "title"}, DurationTitle},
		{[]string{"properties", "padding", "type"}, "boolean"},
		{[]string{"properties", "listen", SchemaRuleKey}, "is required when tx_id is set"},
		{[]string{"properties", "cyclic", "type"}, "array"},
		{[]string{"properties", "cyclic", "maxItems"}, 4.0},
		{[]string{"properties", "cyclic", "items", "$ref"}, "#/$defs/schemaInner"},
		{[]string{"$defs", "schemaInner", "required"}, []any{"id"}},
		{[]string{"$defs", "schemaInner", "properties", "id", "description"}, "CAN identifier."},
		{[]string{"$defs", "schemaInner", "properties", "data", "maxLength"}, 16.0},
		{[]string{"$defs", "schemaInner", "properties", "data", "examples"}, []any{"DEADBEEF"}},
		{[]string{"properties", "dids", "propertyNames", "pattern"}, hexid.Pattern},
		{[]string{"properties", "nested", "properties", "port", "maximum"}, 65535.0},
		{[]string{"properties", "Hidden"}, nil},
		{[]string{"properties", "private"}, nil},
	} {
		if got := at(m, tc.path...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v, want %#v", strings.Join(tc.path, "."), got, tc.want)
		}
	}
	// The hex ID: an integer bounded by its rule, or a hex string.
	one, _ := at(m, "properties", "tx_id", "oneOf").([]any)
	if len(one) != 2 || at(one[0].(map[string]any), "type") != "integer" || at(one[0].(map[string]any), "maximum") != float64(0x1FFFFFFF) ||
		at(one[1].(map[string]any), "type") != "string" || at(one[1].(map[string]any), "pattern") != hexid.Pattern {
		t.Errorf("tx_id oneOf = %v", one)
	}
}

func TestSchemaShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   reflect.Type
		check func(map[string]any) bool
	}{
		{"int", reflect.TypeFor[int](), func(m map[string]any) bool { return m["type"] == "integer" }},
		{"string", reflect.TypeFor[string](), func(m map[string]any) bool { return m["type"] == "string" }},
		{"hex", reflect.TypeFor[hexid.ID](), func(m map[string]any) bool { return m["title"] == hexid.SchemaTitle }},
		{"list of structs", reflect.TypeFor[[]schemaInner](), func(m map[string]any) bool {
			return m["type"] == "array" && at(m, "items", "$ref") == "#/$defs/schemaInner" && at(m, "$defs", "schemaInner", "type") == "object"
		}},
		{"recursive keeps its reference", reflect.TypeFor[schemaTree](), func(m map[string]any) bool {
			return m["$ref"] == "#/$defs/schemaTree" && at(m, "$defs", "schemaTree", "properties", "children", "items", "$ref") == "#/$defs/schemaTree"
		}},
		{"stream", reflect.TypeFor[iter.Seq2[schemaInner, error]](), func(m map[string]any) bool {
			return m[SchemaStreamKey] == true && at(m, "properties", "id") != nil
		}},
		{"anonymous struct", reflect.TypeFor[struct{ A int }](), func(m map[string]any) bool {
			return at(m, "properties", "A", "type") == "integer"
		}},
		{"unsupported", reflect.TypeFor[struct{ C complex128 }](), func(m map[string]any) bool {
			d, _ := m["description"].(string)
			return strings.HasPrefix(d, "no schema")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := schemaMap(t, tc.typ)
			if !tc.check(m) {
				b, _ := json.Marshal(m)
				t.Errorf("schema of %s = %s", tc.typ, b)
			}
		})
	}
	if JSONSchema(nil) != nil {
		t.Error("JSONSchema(nil) != nil")
	}
}

func TestSchemaCached(t *testing.T) {
	typ := reflect.TypeFor[schemaArgs]()
	a, b := JSONSchema(typ), JSONSchema(typ)
	if &a[0] != &b[0] {
		t.Error("schema built twice")
	}
}

func BenchmarkJSONSchemaCached(b *testing.B) {
	typ := reflect.TypeFor[schemaArgs]()
	JSONSchema(typ)
	for b.Loop() {
		JSONSchema(typ)
	}
}
