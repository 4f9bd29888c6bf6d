package service

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"

	"github.com/bgkit/bgkit/hexid"
)

// ValidationError lists what is wrong with an argument value, one entry
// per field, each naming the JSON field and the rule in words:
//
//	interval_ms: must be at least 0, got -5; step: is required
//
// [Validate] returns it for failed validate tags and [Decode] also for
// JSON of the wrong type and unknown fields.
type ValidationError struct {
	Fields []FieldError
}

// FieldError is one failed rule.
type FieldError struct {
	Field   string // JSON path, e.g. "step", "replay.file" or "cyclic[1].id"; "" for the whole value
	Rule    string // the validate tag that failed, e.g. "min"; "type" for JSON of the wrong type, "unknown" for an unknown field
	Param   string // the rule's parameter, e.g. "1"
	Value   any    // the value that failed
	Message string // the rule in words with what was given, e.g. "must be at least 1, got 0"
}

func (f FieldError) String() string {
	if f.Field == "" {
		return f.Message
	}
	if f.Rule == "unknown" {
		// The message names the field; the path says where it is.
		if i := strings.LastIndexByte(f.Field, '.'); i >= 0 {
			return f.Field[:i] + ": " + f.Message
		}
		return f.Message
	}
	return f.Field + ": " + f.Message
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch name {
			case "-":
				return ""
			case "":
				return f.Name
			}
			return name
		})
	})
	return validate
}

// Validate checks v's validate tags (github.com/go-playground/validator/v10)
// and returns a *ValidationError naming each failing field and rule. Values
// that are not structs (or pointers to them) are valid.
func Validate(v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	err := validatorInstance().Struct(rv.Interface())
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("validate: %w", err)
	}
	ve := &ValidationError{}
	for _, fe := range verrs {
		ns := fe.Namespace()
		if i := strings.IndexByte(ns, '.'); i >= 0 {
			ns = ns[i+1:] // drop the struct's own name
		}
		parent := parentStruct(rv.Type(), fe.StructNamespace())
		var names fieldNamer
		if parent != nil {
			names = jsonNamer(parent)
		}
		r := rule{fe.Tag(), fe.Param()}
		msg := ruleWords(r, ruleKindOf(fe.Type()), isHex(fe.Type()), names)
		if r.tag != "required" && !strings.HasPrefix(r.tag, "required_") {
			msg += ", got " + gotValue(fe.Value(), fe.Type())
		}
		ve.Fields = append(ve.Fields, FieldError{Field: ns, Rule: fe.Tag(), Param: fe.Param(), Value: fe.Value(), Message: msg})
	}
	return ve
}

// ruleKind is what a validate rule measures: a number's value, a string's
// length, a list's or map's items.
type ruleKind int

const (
	kindNumber ruleKind = iota
	kindString
	kindItems
	kindOther
)

func ruleKindOf(t reflect.Type) ruleKind {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return kindOther
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return kindNumber
	case reflect.String:
		return kindString
	case reflect.Slice, reflect.Array, reflect.Map:
		return kindItems
	}
	return kindOther
}

var hexType = reflect.TypeFor[hexid.ID]()

// isHex reports whether t is (a pointer to) a hexid.ID.
func isHex(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t == hexType
}

// rule is one parsed validate rule.
type rule struct{ tag, param string }

// parseRules splits a validate tag into the rules for the value itself
// and those after dive (for the items of a list or map).
func parseRules(tag string) (own []rule, dive string) {
	if tag == "" || tag == "-" {
		return nil, ""
	}
	parts := strings.Split(tag, ",")
	for i, p := range parts {
		if p == "dive" {
			return own, strings.Join(parts[i+1:], ",")
		}
		name, param, _ := strings.Cut(p, "=")
		own = append(own, rule{name, param})
	}
	return own, ""
}

// fieldNamer maps a Go field name of the struct a rule is in to its JSON name.
type fieldNamer func(goName string) string

// ruleWords says one rule in words, the way argument errors say it:
// "must be at least 0", "is required", "must be one of a, b".
func ruleWords(r rule, k ruleKind, hex bool, names fieldNamer) string {
	p := r.param
	num := func(s string) string {
		if hex {
			if n, err := strconv.ParseUint(s, 0, 64); err == nil {
				return fmt.Sprintf("0x%X", n)
			}
		}
		return s
	}
	field := func(s string) string {
		if names != nil {
			return names(s)
		}
		return s
	}
	measured := func(op string) string {
		switch k {
		case kindString:
			return fmt.Sprintf("must be %s %s characters long", op, p)
		case kindItems:
			unit := "items"
			if p == "1" {
				unit = "item"
			}
			return fmt.Sprintf("must have %s %s %s", op, p, unit)
		}
		return fmt.Sprintf("must be %s %s", op, num(p))
	}
	switch r.tag {
	case "required":
		return "is required"
	case "omitempty", "omitnil", "omitzero", "":
		return ""
	case "gte", "min":
		return measured("at least")
	case "lte", "max":
		return measured("at most")
	case "gt":
		return measured("more than")
	case "lt":
		return measured("less than")
	case "len", "eq":
		if k == kindNumber {
			return "must be " + num(p)
		}
		return measured("exactly")
	case "ne":
		return "must not be " + num(p)
	case "oneof":
		return "must be one of " + strings.Join(strings.Fields(p), ", ")
	case "required_with":
		return "is required when " + field(p) + " is set"
	case "required_without":
		return "is required when " + field(p) + " is not set"
	case "required_if":
		f := strings.Fields(p)
		if len(f) == 2 {
			return "is required when " + field(f[0]) + " is " + f[1]
		}
	case "required_unless":
		f := strings.Fields(p)
		if len(f) == 2 {
			return "is required unless " + field(f[0]) + " is " + f[1]
		}
	case "excluded_with":
		return "must not be set when " + field(p) + " is set"
	case "excluded_without":
		return "must not be set when " + field(p) + " is not set"
	case "hostname_port":
		return "must be host:port"
	case "ip":
		return "must be an IP address"
	case "ipv4":
		return "must be an IPv4 address"
	case "alphanum":
		return "must hold only letters and digits"
	case "alpha":
		return "must hold only letters"
	case "numeric":
		return "must be numeric"
	case "hexadecimal":
		return "must be hexadecimal"
	case "file":
		return "must name an existing file"
	case "dir":
		return "must name an existing directory"
	case "url":
		return "must be a URL"
	case "unique":
		return "must not repeat a value"
	case "startswith":
		return "must start with " + strconv.Quote(p)
	case "endswith":
		return "must end with " + strconv.Quote(p)
	case "contains":
		return "must contain " + strconv.Quote(p)
	}
	if p != "" {
		return fmt.Sprintf("must satisfy %s=%s", r.tag, p)
	}
	return "must satisfy " + r.tag
}

// RuleWords says a validate tag in words, as `bgkit kinds` shows it:
// "gte=0,lte=60000" on a number is "must be from 0 to 60000"; rules after
// dive apply to each item. t is the field's type; names maps Go field
// names in cross-field rules (required_with=DoIPAddress) to JSON names, nil
// to keep them.
func RuleWords(tag string, t reflect.Type, names func(goName string) string) string {
	own, dive := parseRules(tag)
	k, hex := ruleKindOf(t), isHex(t)
	var lo, hi *rule // the bounds of a number, said together
	var out []string
	for _, r := range own {
		switch {
		case k == kindNumber && lo == nil && (r.tag == "gte" || r.tag == "min" || r.tag == "gt"):
			lo = &r
		case k == kindNumber && hi == nil && (r.tag == "lte" || r.tag == "max" || r.tag == "lt"):
			hi = &r
		default:
			if w := ruleWords(r, k, hex, names); w != "" {
				out = append(out, w)
			}
		}
	}
	switch {
	case lo != nil && hi != nil && lo.tag != "gt" && hi.tag != "lt":
		out = append(out, fmt.Sprintf("must be from %s to %s", hexNum(lo.param, hex), hexNum(hi.param, hex)))
	case lo != nil && hi != nil:
		out = append(out, ruleWords(*lo, k, hex, names)+" and "+strings.TrimPrefix(ruleWords(*hi, k, hex, names), "must be "))
	case lo != nil:
		out = append(out, ruleWords(*lo, k, hex, names))
	case hi != nil:
		out = append(out, ruleWords(*hi, k, hex, names))
	}
	if dive != "" {
		var et reflect.Type
		if t != nil {
			base := t
			for base.Kind() == reflect.Pointer {
				base = base.Elem()
			}
			if k == kindItems {
				et = base.Elem()
			}
		}
		if w := RuleWords(dive, et, nil); w != "" {
			out = append(out, "each item "+w)
		}
	}
	return strings.Join(out, ", ")
}

func hexNum(s string, hex bool) string {
	if hex {
		if n, err := strconv.ParseUint(s, 0, 64); err == nil {
			return fmt.Sprintf("0x%X", n)
		}
	}
	return s
}

// parentStruct finds the struct type that holds the field a validator
// namespace of Go names ("Args.Inner.Port", "Args.Cyclic[0].ID") ends in.
func parentStruct(t reflect.Type, ns string) reflect.Type {
	parts := strings.Split(ns, ".")
	if len(parts) < 2 {
		return nil
	}
	for _, p := range parts[1 : len(parts)-1] {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		name, _, index := strings.Cut(p, "[")
		f, ok := t.FieldByName(name)
		if !ok {
			return nil
		}
		t = f.Type
		if index {
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if k := t.Kind(); k == reflect.Slice || k == reflect.Array || k == reflect.Map {
				t = t.Elem()
			}
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

// gotValue prints a value that failed a rule: strings quoted, IDs in hex.
func gotValue(v any, t reflect.Type) string {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "nothing"
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return "nothing"
	}
	switch rv.Kind() {
	case reflect.String:
		return strconv.Quote(rv.String())
	case reflect.Slice, reflect.Array, reflect.Map:
		n := rv.Len()
		if n == 1 {
			return "1 item"
		}
		return strconv.Itoa(n) + " items"
	}
	if s, ok := rv.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(rv.Interface())
}

// ErrInvalidArgs is matched (errors.Is) by the errors of bad arguments
// that a service's constructor returns: those made by [InvalidArgs] and
// [BadArgs]. The built-in services export it as their own ErrInvalidArgs.
var ErrInvalidArgs = errors.New("invalid arguments")

// ArgsError is an error in a service's arguments. It matches
// [ErrInvalidArgs], unwraps to Err, and its message starts with
// "invalid arguments: " once, whether or not Err says so itself.
type ArgsError struct{ Err error }

func (e ArgsError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, ErrInvalidArgs.Error()) {
		return msg
	}
	return ErrInvalidArgs.Error() + ": " + msg
}

// Is reports whether target is ErrInvalidArgs.
func (e ArgsError) Is(target error) bool { return target == ErrInvalidArgs }

// Unwrap returns Err.
func (e ArgsError) Unwrap() error { return e.Err }

// InvalidArgs marks err as an error in arguments: the result is an
// [ArgsError] (nil for a nil err). A constructor wraps what [Validate]
// returns with it.
func InvalidArgs(err error) error {
	if err == nil {
		return nil
	}
	return ArgsError{err}
}

// BadArgs is InvalidArgs(fmt.Errorf(format, v...)), for the rules that
// validate tags cannot express: BadArgs("tx_id and rx_id are both %v", id).
func BadArgs(format string, v ...any) error {
	return ArgsError{fmt.Errorf(format, v...)}
}
