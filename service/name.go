package service

import (
	"reflect"
	"strings"
	"unicode"
)

// DeriveName turns a Go type name into a service name: CamelCase becomes
// SCREAMING_SNAKE_CASE by the rule of [MethodName]:
//
//	TesterPresentService      → TESTER_PRESENT_SERVICE
//	SokFreshnessServerService → SOK_FRESHNESS_SERVER_SERVICE
//	HTTPServerService         → HTTP_SERVER_SERVICE
//	ECUsSimService            → ECUS_SIM_SERVICE
//	CAN2Recorder              → CAN2_RECORDER
//
// A package qualifier, pointer stars and type parameters are dropped.
func DeriveName(typeName string) string {
	return strings.ToUpper(snake(bareName(typeName)))
}

// MethodName turns a Go method name into its endpoint name, the snake_case
// form. A run of capitals is one word (an acronym), and so is an acronym
// with a plural s; the last capital of a run starts the next word when a
// lower-case letter follows it; digits stay with the word before them:
//
//	SetInterval → set_interval    ReadDTCs   → read_dtcs
//	HTTPStatus  → http_status     GetDIDs    → get_dids
//	ISOTPConfig → isotp_config    CAN2Frames → can2_frames
//	DoIPAddress → do_ip_address   (a service can choose doip_address
//	                               with an EndpointNames method)
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

// snake splits s into words and joins them lower-case with underscores.
func snake(s string) string {
	return strings.Join(words(s), "_")
}

// words splits a Go identifier into lower-case words; see [MethodName].
func words(s string) []string {
	rs := []rune(s)
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == '_' || r == '-' || r == ' ' || r == '.':
			flush()
			i++
		case unicode.IsUpper(r):
			// A run of capitals: rs[i:j].
			j := i
			for j < len(rs) && unicode.IsUpper(rs[j]) {
				j++
			}
			if len(cur) > 0 {
				flush() // a capital after a lower-case letter or digit starts a word
			}
			switch {
			case j-i >= 2 && j < len(rs) && rs[j] == 's' && (j+1 == len(rs) || !unicode.IsLower(rs[j+1])):
				// A plural acronym: DTCs, IDs, ECUs.
				cur = append(cur, rs[i:j+1]...)
				i = j + 1
			case j < len(rs) && unicode.IsLower(rs[j]):
				// HTTPStatus: the last capital begins the next word.
				if j-i >= 2 {
					cur = append(cur, rs[i:j-1]...)
					flush()
				}
				cur = append(cur, rs[j-1])
				i = j
			default:
				cur = append(cur, rs[i:j]...)
				i = j
			}
		default: // lower-case letters and digits continue the word
			cur = append(cur, r)
			i++
		}
	}
	flush()
	return out
}
