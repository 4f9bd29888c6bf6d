package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bgkit/bgkit/hexid"
)

// ErrSyntax is wrapped by Decode for input that is not JSON.
var ErrSyntax = errors.New("invalid JSON")

// Decode decodes one JSON value into v (a pointer) strictly and checks its
// validate tags: unknown fields and data after the value are refused. Every
// mistake in the value is a *ValidationError naming the JSON field and the
// rule in words, in the user's terms rather than Go's:
//
//	interval_ms: must be a number, got string "x"
//	interval_ms: must be at least 0, got -5
//	tx_id: must be a number or a hex string such as "0x7E8", got "zz"
//	unknown field "intervl_ms" (known: bus, interval_ms, tx_id)
//
// Input that is not JSON at all is an error wrapping ErrSyntax. Decode is
// what service calls, spawn's argument checks, rig files and `bgkit run`
// use, so they all say the same.
func Decode(data []byte, v any) error {
	if err := decodeStrict(data, v); err != nil {
		return err
	}
	return Validate(v)
}

// decodeStrict is Decode without the validation.
func decodeStrict(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(data, reflect.TypeOf(v), err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the value at byte %d", ErrSyntax, dec.InputOffset()+1)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the value at byte %d", ErrSyntax, dec.InputOffset())
	}
	if f, found := silentField(data, reflect.TypeOf(v)); found {
		return &ValidationError{Fields: []FieldError{f}}
	}
	return nil
}

// silentField finds, in data (valid JSON, decoded into t), the first of
// what encoding/json takes without a word but a caller did not mean:
//
//   - a field given twice in one object (encoding/json keeps the last).
//     Struct fields are matched regardless of case, as encoding/json
//     matches them; map keys exactly.
//   - null for a number, a bool, a string or a hex id, in a field, a list
//     or a map (encoding/json leaves it as it was, 0: a gap of 0 ms is a
//     flood). null stays nothing for a pointer, a struct, a list, a map,
//     an interface, and a type that decodes JSON itself.
//
// It scans the bytes (a json.Decoder's tokens cost four times the
// decoding itself).
func silentField(data []byte, t reflect.Type) (FieldError, bool) {
	if bytes.IndexByte(data, ',') < 0 && !bytes.Contains(data, nullLiteral) {
		return FieldError{}, false // no object with two keys, no null
	}
	d := fieldScanner{data: data}
	d.value(t, nil)
	return d.f, d.found
}

var nullLiteral = []byte("null")

// refusesNull reports whether null for a value of type t is a mistake:
// encoding/json would leave it at its zero value.
func refusesNull(t reflect.Type) bool {
	if t == nil || !isScalar(t.Kind()) {
		return false
	}
	return t == hexType || !(t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType))
}

// nullFor is the error for null given for a t (at the path at).
func nullFor(t reflect.Type, at string) FieldError {
	return FieldError{Field: at, Rule: "type", Value: "null", Message: "must be " + typeWords(t) + ", got null"}
}

var structFieldsCache sync.Map // reflect.Type → map[string]reflect.Type, not to be modified

// cachedStructFields is structFields, made once for each type.
func cachedStructFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := structFieldsCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	f, _ := structFieldsCache.LoadOrStore(t, structFields(t))
	return f.(map[string]reflect.Type)
}

// pathNode is where a value is: a key or a list index under up.
type pathNode struct {
	up    *pathNode
	key   string
	index int // for a list item; key is ""
	item  bool
}

func (p *pathNode) String() string {
	if p == nil {
		return ""
	}
	up := p.up.String()
	if p.item {
		return up + "[" + strconv.Itoa(p.index) + "]"
	}
	return joinPath(up, p.key)
}

type fieldScanner struct {
	data  []byte
	i     int
	f     FieldError
	found bool
}

func (d *fieldScanner) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value scans the value at d.i, of type t (nil: unknown); false ends the
// scan.
func (d *fieldScanner) value(t reflect.Type, at *pathNode) bool {
	d.space()
	if d.i >= len(d.data) {
		return false
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch d.data[d.i] {
	case '{':
		return d.object(t, at)
	case '[':
		return d.list(t, at)
	case '"':
		d.str()
		return true
	}
	for d.i < len(d.data) { // a number, true, false or null
		switch d.data[d.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return true
		}
		d.i++
	}
	return true
}

// str scans the string at d.i and returns its text between the quotes,
// and whether it has escapes.
func (d *fieldScanner) str() (raw []byte, escaped bool) {
	d.i++
	start := d.i
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case '\\':
			escaped = true
			d.i += 2
			continue
		case '"':
			raw = d.data[start:d.i]
			d.i++
			return raw, escaped
		}
		d.i++
	}
	return d.data[start:], escaped
}

// null reports whether the value at d.i (after white space) is null.
func (d *fieldScanner) null() bool {
	d.space()
	return bytes.HasPrefix(d.data[d.i:], nullLiteral)
}

// nested reports whether the value at d.i (after white space) is an
// object or a list, whose type matters.
func (d *fieldScanner) nested() bool {
	d.space()
	return d.i < len(d.data) && (d.data[d.i] == '{' || d.data[d.i] == '[')
}

func (d *fieldScanner) object(t reflect.Type, at *pathNode) bool {
	d.i++
	isStruct := t != nil && t.Kind() == reflect.Struct
	var fields map[string]reflect.Type
	var seenA [16][]byte
	seen := seenA[:0]
	for {
		d.space()
		if d.i >= len(d.data) {
			return false
		}
		switch d.data[d.i] {
		case '}':
			d.i++
			return true
		case ',':
			d.i++
			continue
		}
		key, escaped := d.str()
		if escaped || !utf8.Valid(key) { // as encoding/json reads it
			var k string
			if json.Unmarshal(d.data[d.i-len(key)-2:d.i], &k) == nil { // with its quotes
				key = []byte(k)
			}
		}
		for _, k := range seen {
			if bytes.Equal(k, key) || isStruct && bytes.EqualFold(k, key) {
				d.f = FieldError{Field: joinPath(at.String(), string(key)), Rule: "duplicate", Value: string(key), Message: "given twice"}
				if !bytes.Equal(k, key) {
					d.f.Message += fmt.Sprintf(" (also as %q)", k)
				}
				d.found = true
				return false
			}
		}
		seen = append(seen, key)
		d.space()
		if d.i < len(d.data) && d.data[d.i] == ':' {
			d.i++
		}
		null := d.null()
		if !null && !d.nested() {
			d.value(nil, nil)
			continue
		}
		var et reflect.Type
		switch {
		case isStruct:
			if fields == nil {
				fields = cachedStructFields(t)
			}
			et, _ = fieldFor(fields, string(key))
		case t != nil && t.Kind() == reflect.Map:
			et = t.Elem()
		}
		if null && refusesNull(et) {
			d.f, d.found = nullFor(et, joinPath(at.String(), string(key))), true
			return false
		}
		if !d.value(et, &pathNode{up: at, key: string(key)}) {
			return false
		}
	}
}

func (d *fieldScanner) list(t reflect.Type, at *pathNode) bool {
	d.i++
	var et reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		et = t.Elem()
	}
	for n := 0; ; {
		d.space()
		if d.i >= len(d.data) {
			return false
		}
		switch d.data[d.i] {
		case ']':
			d.i++
			return true
		case ',':
			d.i++
			n++
			continue
		}
		if d.null() && refusesNull(et) {
			d.f, d.found = nullFor(et, (&pathNode{up: at, index: n, item: true}).String()), true
			return false
		}
		if !d.nested() {
			d.value(nil, nil)
			continue
		}
		if !d.value(et, &pathNode{up: at, index: n, item: true}) {
			return false
		}
	}
}

// decodeError turns an encoding/json error for data decoded into t into
// one that names the JSON field.
func decodeError(data []byte, t reflect.Type, err error) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w at byte %d: %s", ErrSyntax, se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg := "must be " + typeWords(te.Type) + ", got " + gotJSON(te, data)
		if r := intRange(te.Type); r != "" && strings.HasPrefix(te.Value, "number ") {
			// 1.5 or 1e99 for an integer: say which numbers fit.
			msg = "must be a whole number " + r + ", got " + strings.TrimPrefix(te.Value, "number ")
		}
		return &ValidationError{Fields: []FieldError{{Field: indexedPath(data, t, te), Rule: "type", Value: te.Value, Message: msg}}}
	}
	var tree any
	if t != nil {
		// The first value only, as the failed decoder read it.
		_ = json.NewDecoder(bytes.NewReader(data)).Decode(&tree)
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok && t != nil {
		name = strings.TrimSuffix(name, `"`)
		if path, known, found := findUnknown(tree, t, "", name); found {
			return &ValidationError{Fields: []FieldError{{
				Field: joinPath(path, name), Rule: "unknown", Value: name,
				Message: fmt.Sprintf("unknown field %q (known: %s)", name, strings.Join(known, ", ")),
			}}}
		}
		return &ValidationError{Fields: []FieldError{{Field: name, Rule: "unknown", Value: name,
			Message: fmt.Sprintf("unknown field %q", name)}}}
	}
	// An UnmarshalJSON of a field's type failed: find the field.
	if t != nil {
		if path, bad, ferr, found := findUnmarshalError(tree, t, ""); found {
			msg := ferr.Error()
			if errors.Is(ferr, hexid.ErrSyntax) {
				msg = "must be " + typeWords(hexType) + ", got " + compactJSON(bad)
			}
			return &ValidationError{Fields: []FieldError{{Field: path, Rule: "type", Value: bad, Message: msg}}}
		}
	}
	return &ValidationError{Fields: []FieldError{{Rule: "type", Message: strings.TrimPrefix(err.Error(), "json: ")}}}
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// indexedPath adds list indexes to the path of a type error: encoding/json
// says "cyclic.id" where the value at fault is cyclic[1].id.
func indexedPath(data []byte, t reflect.Type, te *json.UnmarshalTypeError) string {
	if t == nil || te.Field == "" {
		return te.Field
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&tree) != nil {
		return te.Field
	}
	kind := te.Value
	if i := strings.IndexByte(kind, ' '); i >= 0 {
		kind = kind[:i] // "number 1.5"
	}
	found := te.Field
	walkJSON(tree, t, "", func(v any, _ reflect.Type, p string) bool {
		if !strings.EqualFold(indexRE.ReplaceAllString(p, ""), te.Field) || jsonKind(v) != kind {
			return false
		}
		found = p
		return true
	})
	return found
}

// jsonKind names the JSON kind of a decoded value as UnmarshalTypeError does.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// typeWords says what JSON a Go type takes.
func typeWords(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	if t == hexType {
		return `a number or a hex string such as "0x7E8"`
	}
	if t == durationType {
		return "a number of nanoseconds"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "a base64 string"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value"
}

// intRange is the range of an integer kind in words, "" for other kinds.
func intRange(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return fmt.Sprintf("from %d to %d", math.MinInt64, math.MaxInt64)
	case reflect.Int8:
		return "from -128 to 127"
	case reflect.Int16:
		return "from -32768 to 32767"
	case reflect.Int32:
		return "from -2147483648 to 2147483647"
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return "from 0 to 18446744073709551615"
	case reflect.Uint8:
		return "from 0 to 255"
	case reflect.Uint16:
		return "from 0 to 65535"
	case reflect.Uint32:
		return "from 0 to 4294967295"
	}
	return ""
}

// gotJSON says what JSON value a type error was about: string "x",
// number 1.5, true, a list, an object.
func gotJSON(te *json.UnmarshalTypeError, data []byte) string {
	v := te.Value
	switch {
	case v == "string":
		if s, ok := stringBefore(data, te.Offset); ok {
			if len(s) > 40 {
				s = s[:37] + "..."
			}
			return "string " + strconv.Quote(s)
		}
		return "a string"
	case strings.HasPrefix(v, "number "):
		return v
	case v == "number":
		if off := int(te.Offset); off <= len(data) {
			head := bytes.TrimRight(data[:off], " \t\r\n")
			i := len(head)
			for i > 0 && strings.IndexByte("0123456789+-.eE", head[i-1]) >= 0 {
				i--
			}
			if i < len(head) {
				return "number " + string(head[i:])
			}
		}
		return "a number"
	case v == "bool":
		if off := int(te.Offset); off <= len(data) && bytes.HasSuffix(bytes.TrimSpace(data[:off]), []byte("true")) {
			return "true"
		}
		return "false"
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	}
	return v
}

// stringBefore reads the JSON string that ends at offset in data.
func stringBefore(data []byte, offset int64) (string, bool) {
	end := int(offset)
	if end > len(data) || end < 2 || data[end-1] != '"' {
		return "", false
	}
	for i := end - 2; i >= 0; i-- {
		if data[i] != '"' {
			continue
		}
		bs := 0
		for j := i - 1; j >= 0 && data[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 1 {
			continue // an escaped quote
		}
		var s string
		if json.Unmarshal(data[i:end], &s) == nil {
			return s, true
		}
		return "", false
	}
	return "", false
}

// structFields maps the JSON names of struct t's fields (embedded structs
// flattened) to their types, as encoding/json sees them.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, embedded := jsonFieldName(f)
		if embedded {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			for k, v := range structFields(et) {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
			continue
		}
		if name != "" {
			out[name] = f.Type
		}
	}
	return out
}

// fieldFor finds the field of fields that JSON key names, with the
// case-insensitive match encoding/json uses.
func fieldFor(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

// walkJSON visits v, decoded from JSON as any, with t, the type it was
// decoded into, depth first in key order; visit returns true to stop.
func walkJSON(v any, t reflect.Type, path string, visit func(v any, t reflect.Type, path string) bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if visit(v, t, path) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		fields := structFields(t)
		for _, k := range sortedKeys(m) {
			if ft, ok := fieldFor(fields, k); ok && walkJSON(m[k], ft, joinPath(path, k), visit) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for i, e := range list {
			if walkJSON(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), visit) {
				return true
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, k := range sortedKeys(m) {
			if walkJSON(m[k], t.Elem(), joinPath(path, k), visit) {
				return true
			}
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// findUnknown finds the struct that has a JSON key name it lacks.
func findUnknown(tree any, t reflect.Type, _ string, name string) (path string, known []string, found bool) {
	walkJSON(tree, t, "", func(v any, t reflect.Type, p string) bool {
		m, ok := v.(map[string]any)
		if !ok || t.Kind() != reflect.Struct {
			return false
		}
		if _, has := m[name]; !has {
			return false
		}
		fields := structFields(t)
		if _, ok := fieldFor(fields, name); ok {
			return false
		}
		path, found = p, true
		for k := range fields {
			known = append(known, k)
		}
		sort.Strings(known)
		return true
	})
	return path, known, found
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// findUnmarshalError finds the value whose type's UnmarshalJSON refuses it.
func findUnmarshalError(tree any, t reflect.Type, _ string) (path string, bad any, err error, found bool) {
	walkJSON(tree, t, "", func(v any, t reflect.Type, p string) bool {
		if !reflect.PointerTo(t).Implements(unmarshalerType) {
			return false
		}
		b, merr := json.Marshal(v)
		if merr != nil {
			return false
		}
		if uerr := json.Unmarshal(b, reflect.New(t).Interface()); uerr != nil {
			path, bad, err, found = p, v, uerr, true
			return true
		}
		return false
	})
	return path, bad, err, found
}
