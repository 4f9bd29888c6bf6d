package service

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/bgkit/bgkit/hexid"
)

// Schema extensions bgkit adds to the JSON Schema of a type; tools that
// summarise schemas (bgkit describe, bgkit kinds) read them.
const (
	// SchemaRuleKey holds a field's validate rules in words, e.g.
	// "must be from 0 to 60000".
	SchemaRuleKey = "x-rule"
	// SchemaStreamKey is true on the output schema of a streaming
	// endpoint; the schema is that of one streamed value.
	SchemaStreamKey = "x-stream"
	// DurationTitle is the title of a time.Duration, which JSON carries as
	// an integer number of nanoseconds.
	DurationTitle = "duration in nanoseconds"
)

var schemaCache sync.Map // reflect.Type → json.RawMessage

// JSONSchema is the JSON Schema (draft 2020-12) of the JSON form of t, as
// $SRV.INFO reports it for endpoint inputs and outputs (metadata in_schema
// and out_schema). It is generated with github.com/invopop/jsonschema and
// then annotated from the struct tags bgkit uses:
//
//   - json tags give the property names; structs refuse other properties,
//     as the strict decoding of arguments does;
//   - validate tags give required, minimum/maximum (gte, lte, gt, lt, min,
//     max on numbers), minLength/maxLength and minItems/maxItems (on
//     strings and lists), enum (oneof), and the whole rule in words under
//     "x-rule";
//   - a doc:"..." tag is the property's description, an example:"..." tag
//     its example (JSON, or a string as it is);
//   - a hexid.ID is an integer or a hex string (see hexid.ID.JSONSchema);
//   - a time.Duration is an integer titled "duration in nanoseconds";
//   - a streaming output (iter.Seq2[T, error]) is the schema of T marked
//     "x-stream": true.
//
// Named struct types other than the top one are in "$defs" and referred to
// with "$ref": "#/$defs/Name". JSONSchema returns nil for a nil t. Schemas
// are cached per type.
func JSONSchema(t reflect.Type) json.RawMessage {
	if t == nil {
		return nil
	}
	if s, ok := schemaCache.Load(t); ok {
		return s.(json.RawMessage)
	}
	s := buildSchema(t)
	schemaCache.Store(t, s)
	return s
}

var durationType = reflect.TypeFor[time.Duration]()

func buildSchema(t reflect.Type) (out json.RawMessage) {
	defer func() {
		if r := recover(); r != nil {
			out, _ = json.Marshal(map[string]string{"description": fmt.Sprintf("no schema for this type: %v", r)})
		}
	}()
	stream := false
	if et, ok := streamElem(t); ok {
		t, stream = et, true
	}
	r := &jsonschema.Reflector{
		Anonymous:                  true,
		RequiredFromJSONSchemaTags: true, // required comes from validate tags
		Mapper:                     mapType,
	}
	root := r.ReflectFromType(t)
	a := annotator{defs: root.Definitions, seen: map[reflect.Type]bool{}}
	a.typ(t, root)
	inlineRoot(root)
	if stream {
		if root.Extras == nil {
			root.Extras = map[string]any{}
		}
		root.Extras[SchemaStreamKey] = true
	}
	if len(root.Definitions) == 0 {
		root.Definitions = nil
	}
	b, err := json.Marshal(root)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"description": "no schema for this type: " + err.Error()})
	}
	return b
}

// mapType gives the schemas of the types bgkit describes itself, inline and
// fresh for each use (so that field rules can be added to them).
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case hexType:
		return hexid.ID(0).JSONSchema()
	case durationType:
		return &jsonschema.Schema{Type: "integer", Title: DurationTitle}
	}
	// encoding/json writes a TextMarshaler without MarshalJSON (such as
	// can.Frame, "7E8#0102") as a string.
	pt := reflect.PointerTo(t)
	if !t.Implements(jsonMarshalerType) && !pt.Implements(jsonMarshalerType) && t.Implements(textMarshalerType) {
		return &jsonschema.Schema{Type: "string"}
	}
	return nil
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// streamElem recognises the iterator of a streaming endpoint,
// func(yield func(T, error) bool), and returns T.
func streamElem(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Func || t.NumIn() != 1 || t.NumOut() != 0 {
		return nil, false
	}
	y := t.In(0)
	if y.Kind() != reflect.Func || y.NumIn() != 2 || y.NumOut() != 1 || y.In(1) != errType || y.Out(0).Kind() != reflect.Bool {
		return nil, false
	}
	return y.In(0), true
}

// inlineRoot replaces a top-level {"$ref": "#/$defs/X"} by X itself when
// nothing else refers to X, so the schema of an argument struct is an
// object with its properties at the top.
func inlineRoot(root *jsonschema.Schema) {
	name, ok := strings.CutPrefix(root.Ref, "#/$defs/")
	if !ok {
		return
	}
	def := root.Definitions[name]
	if def == nil {
		return
	}
	ref := []byte(strconv.Quote(root.Ref))
	for k, d := range root.Definitions {
		b, _ := json.Marshal(d)
		if bytes.Contains(b, ref) {
			_ = k
			return // recursive: keep the reference
		}
	}
	defs := root.Definitions
	delete(defs, name)
	version := root.Version
	*root = *def
	root.Version = version
	root.Definitions = defs
}

// annotator adds what the struct tags say to a reflected schema.
type annotator struct {
	defs jsonschema.Definitions
	seen map[reflect.Type]bool
}

func (a *annotator) resolve(s *jsonschema.Schema) *jsonschema.Schema {
	if s == nil {
		return nil
	}
	if name, ok := strings.CutPrefix(s.Ref, "#/$defs/"); ok {
		if d := a.defs[name]; d != nil {
			return d
		}
	}
	return s
}

// typ annotates s, the schema of t, and what it contains.
func (a *annotator) typ(t reflect.Type, s *jsonschema.Schema) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s = a.resolve(s)
	if s == nil || t == hexType || t == durationType {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if a.seen[t] || s.Properties == nil {
			return
		}
		a.seen[t] = true
		a.fields(t, s)
	case reflect.Slice, reflect.Array:
		a.typ(t.Elem(), s.Items)
	case reflect.Map:
		if isHex(t.Key()) {
			s.PropertyNames = &jsonschema.Schema{Pattern: hexid.Pattern}
		}
		a.typ(t.Elem(), s.AdditionalProperties)
	}
}

// fields annotates the properties of struct t (embedded structs flattened).
func (a *annotator) fields(t reflect.Type, s *jsonschema.Schema) {
	names := jsonNamer(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, embedded := jsonFieldName(f)
		if embedded {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			a.fields(et, s)
			continue
		}
		if name == "" {
			continue
		}
		prop, ok := s.Properties.Get(name)
		if !ok || prop == nil {
			continue
		}
		if doc := f.Tag.Get("doc"); doc != "" {
			prop.Description = doc
		}
		if ex, ok := f.Tag.Lookup("example"); ok {
			var v any
			if json.Unmarshal([]byte(ex), &v) != nil || ruleKindOf(f.Type) == kindString {
				v = ex // a string, unquoted in the tag
			}
			prop.Examples = []any{v}
		}
		tag := f.Tag.Get("validate")
		if w := RuleWords(tag, f.Type, names); w != "" {
			if prop.Extras == nil {
				prop.Extras = map[string]any{}
			}
			prop.Extras[SchemaRuleKey] = w
		}
		own, dive := parseRules(tag)
		for _, r := range own {
			if r.tag == "required" {
				s.Required = appendOnce(s.Required, name)
			}
		}
		applyRules(prop, own, f.Type)
		if dive != "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			var item *jsonschema.Schema
			switch ft.Kind() {
			case reflect.Slice, reflect.Array:
				item = prop.Items
			case reflect.Map:
				item = prop.AdditionalProperties
			}
			if item != nil && item.Ref == "" {
				diveOwn, _ := parseRules(dive)
				applyRules(item, diveOwn, ft.Elem())
			}
		}
		a.typ(f.Type, prop)
	}
}

// applyRules sets the JSON Schema keywords of validate rules on s, the
// schema of a value of type t.
func applyRules(s *jsonschema.Schema, rules []rule, t reflect.Type) {
	if s == nil || s.Ref != "" {
		return
	}
	k := ruleKindOf(t)
	target := s
	if isHex(t) && len(s.OneOf) > 0 {
		target = s.OneOf[0] // numeric rules bound the integer form
	}
	for _, r := range rules {
		switch k {
		case kindNumber:
			n, ok := jsonNumber(r.param)
			if !ok && r.tag != "oneof" {
				continue
			}
			switch r.tag {
			case "gte", "min":
				target.Minimum = n
			case "lte", "max":
				target.Maximum = n
			case "gt":
				target.ExclusiveMinimum = n
			case "lt":
				target.ExclusiveMaximum = n
			case "eq", "len":
				target.Const = n
			case "oneof":
				for _, v := range strings.Fields(r.param) {
					if n, ok := jsonNumber(v); ok {
						target.Enum = append(target.Enum, n)
					}
				}
			}
		case kindString, kindItems:
			n, err := strconv.ParseUint(r.param, 10, 64)
			if r.tag == "oneof" && k == kindString {
				for _, v := range strings.Fields(r.param) {
					s.Enum = append(s.Enum, v)
				}
				continue
			}
			if err != nil {
				continue
			}
			lo, hi := &s.MinLength, &s.MaxLength
			if k == kindItems {
				if s.Type == "object" {
					lo, hi = &s.MinProperties, &s.MaxProperties
				} else {
					lo, hi = &s.MinItems, &s.MaxItems
				}
			}
			switch r.tag {
			case "gte", "min":
				*lo = &n
			case "lte", "max":
				*hi = &n
			case "len", "eq":
				*lo, *hi = &n, &n
			case "gt":
				m := n + 1
				*lo = &m
			case "lt":
				if n > 0 {
					m := n - 1
					*hi = &m
				}
			}
		}
	}
}

// jsonNumber reads a validate parameter (decimal, 0x hex or a float).
func jsonNumber(s string) (json.Number, bool) {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return json.Number(strconv.FormatInt(n, 10)), true
	}
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return json.Number(strconv.FormatUint(n, 10)), true
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(s), true
	}
	return "", false
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// jsonFieldName is the JSON name of a struct field as encoding/json sees
// it: "" for an ignored or unexported field; embedded reports an untagged
// embedded struct, whose fields are promoted.
func jsonFieldName(f reflect.StructField) (name string, embedded bool) {
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag == "-" {
		return "", false
	}
	if f.Anonymous && tag == "" {
		et := f.Type
		for et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if et.Kind() == reflect.Struct {
			return "", true
		}
	}
	if !f.IsExported() {
		return "", false
	}
	if tag != "" {
		return tag, false
	}
	return f.Name, false
}

// jsonNamer maps the Go field names of struct t to their JSON names, for
// cross-field rules.
func jsonNamer(t reflect.Type) func(string) string {
	return func(goName string) string {
		if f, ok := t.FieldByName(goName); ok {
			if name, _ := jsonFieldName(f); name != "" {
				return name
			}
		}
		return goName
	}
}
