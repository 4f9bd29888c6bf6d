package service

import (
	"encoding/json"
	"strconv"
)

// The JSON of calls: every input and result a method takes or returns, on
// both sides (service and controller), goes through EncodeJSON and
// DecodeJSON, so that the encoder is chosen in one place.
//
// They are encoding/json with a fast path for the scalars most methods
// take and return (integers, booleans, plain ASCII strings), which skips
// reflection; anything else, and any input the fast path is not sure of,
// goes to encoding/json, so results and errors are exactly its own.

// EncodeJSON encodes v as json.Marshal does.
func EncodeJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(nil, x, 10), nil
	case int32:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(nil, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(nil, x, 10), nil
	case uint32:
		return strconv.AppendUint(nil, uint64(x), 10), nil
	case bool:
		if x {
			return []byte("true"), nil
		}
		return []byte("false"), nil
	case string:
		if plainASCII(x) {
			b := make([]byte, 0, len(x)+2)
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"'), nil
		}
	case nil:
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// DecodeJSON decodes one JSON value into v, a pointer, as json.Unmarshal
// does.
func DecodeJSON(data []byte, v any) error {
	switch p := v.(type) {
	case *int:
		if n, ok := jsonInt(data, strconv.IntSize); ok {
			*p = int(n)
			return nil
		}
	case *int64:
		if n, ok := jsonInt(data, 64); ok {
			*p = n
			return nil
		}
	case *int32:
		if n, ok := jsonInt(data, 32); ok {
			*p = int32(n)
			return nil
		}
	case *uint:
		if n, ok := jsonUint(data, strconv.IntSize); ok {
			*p = uint(n)
			return nil
		}
	case *uint64:
		if n, ok := jsonUint(data, 64); ok {
			*p = n
			return nil
		}
	case *bool:
		switch string(data) {
		case "true":
			*p = true
			return nil
		case "false":
			*p = false
			return nil
		}
	case *string:
		if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && plainASCII(string(data[1:len(data)-1])) {
			*p = string(data[1 : len(data)-1])
			return nil
		}
	}
	return json.Unmarshal(data, v)
}

// plainASCII reports whether s is printable ASCII that JSON writes as is
// (encoding/json escapes ", \, <, > and &).
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// jsonDigits reports whether s is a JSON integer: -?(0|[1-9][0-9]*), with
// a sign only if signed.
func jsonDigits(s []byte, signed bool) bool {
	if signed && len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func jsonInt(s []byte, bits int) (int64, bool) {
	if !jsonDigits(s, true) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(s), 10, bits)
	return n, err == nil
}

func jsonUint(s []byte, bits int) (uint64, bool) {
	if !jsonDigits(s, false) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s), 10, bits)
	return n, err == nil
}
