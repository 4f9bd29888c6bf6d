package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzDuplicateField checks the byte scanner (silentField: duplicates and
// nulls) against a walk of encoding/json's tokens, on any valid JSON, for
// an unknown type, a struct and loose types.
func FuzzDuplicateField(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":1,"A":2}`, `{"step":1,"\u0073tep":2}`, `[{"a":[1,{"b":2,"b":3}]}]`,
		`{"cyclic":[{"id":1},{"id":1,"ID":2}]}`, `{"replay":{"file":"x","FILE":"y"}}`, `{"k":"a\"b","k\"":1}`,
		`{"x":{"y":{}},"y":[],"z":null}`, ` { "a" : 1 , "b" : [ 1 , 2 ] } `,
		`{"interval_ms":null}`, `{"filters":["a", null]}`, `{"pad_byte":null,"replay":null}`, `[1,null]`, `{"a":[null]}`,
	} {
		f.Add([]byte(s))
	}
	types := []reflect.Type{nil, reflect.TypeFor[errArgs](), reflect.TypeFor[map[string]any](),
		reflect.TypeFor[[]int](), reflect.TypeFor[map[string][]string](), reflect.TypeFor[[]*int]()}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		for _, typ := range types {
			got, gotFound := silentField(data, typ)
			want, wantFound := refDuplicateField(data, typ)
			if gotFound != wantFound || got != want {
				t.Fatalf("%s as %v: scanner %v %+v, tokens %v %+v", data, typ, gotFound, got, wantFound, want)
			}
		}
	})
}

// refDuplicateField is silentField as a walk of json.Decoder's tokens.
func refDuplicateField(data []byte, t reflect.Type) (FieldError, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // 1E1000 is valid JSON
	var f FieldError
	found := false
	var walk func(t reflect.Type, path string, top bool) bool
	walk = func(t reflect.Type, path string, top bool) bool {
		declared := t
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if tok == nil && !top && declared != nil && declared.Kind() != reflect.Pointer && isScalar(declared.Kind()) &&
			(declared == hexType || !reflect.PointerTo(declared).Implements(unmarshalerType)) {
			f, found = FieldError{Field: path, Rule: "type", Value: "null", Message: "must be " + typeWords(declared) + ", got null"}, true
			return false
		}
		switch tok {
		case json.Delim('{'):
			var fields map[string]reflect.Type
			isStruct := t != nil && t.Kind() == reflect.Struct
			if isStruct {
				fields = structFields(t)
			}
			var seen []string
			for dec.More() {
				kt, err := dec.Token()
				key, ok := kt.(string)
				if err != nil || !ok {
					return false
				}
				for _, k := range seen {
					if k == key || isStruct && strings.EqualFold(k, key) {
						f, found = FieldError{Field: joinPath(path, key), Rule: "duplicate", Value: key, Message: "given twice"}, true
						if k != key {
							f.Message += fmt.Sprintf(" (also as %q)", k)
						}
						return false
					}
				}
				seen = append(seen, key)
				var et reflect.Type
				switch {
				case isStruct:
					et, _ = fieldFor(fields, key)
				case t != nil && t.Kind() == reflect.Map:
					et = t.Elem()
				}
				if !walk(et, joinPath(path, key), false) {
					return false
				}
			}
			_, err = dec.Token() // '}'
			return err == nil
		case json.Delim('['):
			var et reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				et = t.Elem()
			}
			for i := 0; dec.More(); i++ {
				if !walk(et, fmt.Sprintf("%s[%d]", path, i), false) {
					return false
				}
			}
			_, err = dec.Token() // ']'
			return err == nil
		}
		return true
	}
	walk(t, "", true)
	return f, found
}
