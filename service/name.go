package service

import (
	"reflect"
	"strings"
	"unicode"
)

// DeriveName turns a Go type name into a service name: CamelCase becomes
// SCREAMING_SNAKE_CASE, keeping acronyms and digits together:
//
//	TesterPresentService      → TESTER_PRESENT_SERVICE
//	SokFreshnessServerService → SOK_FRESHNESS_SERVER_SERVICE
//	HTTPServerService         → HTTP_SERVER_SERVICE
//	CAN2Recorder              → CAN2_RECORDER
//
// A package qualifier, pointer stars and type parameters are dropped.
func DeriveName(typeName string) string {
	return strings.ToUpper(snake(bareName(typeName)))
}

// MethodName turns a Go method name into its endpoint name, the snake_case
// form: SetInterval → set_interval, IsRunning → is_running, ReadDID → read_did.
func MethodName(goName string) string { return snake(goName) }

// nameOf is the service name of a value's type.
func nameOf(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	return DeriveName(t.Name())
}

func bareName(s string) string {
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimLeft(s, "*")
}

func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, r := range rs {
		if r == '_' || r == '-' || r == ' ' {
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			continue
		}
		if i > 0 && unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				if !strings.HasSuffix(b.String(), "_") {
					b.WriteByte('_')
				}
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Trim(b.String(), "_")
}
