package logfwd

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrBadRecord is wrapped by DecodeRecord's errors.
var ErrBadRecord = errors.New("logfwd: bad record")

// DecodeRecord parses one JSON object in the shape slog.JSONHandler writes
// back into a record. The keys time, level and msg fill the record's fields
// (a missing time is left zero; a missing level is INFO); every other key
// becomes an attribute, in order; nested objects become groups. Numbers
// that are integers become int64 attributes, others float64.
func DecodeRecord(data []byte) (slog.Record, error) {
	d := decoder{data: data}
	var r slog.Record
	r.Level = slog.LevelInfo
	d.skipSpace()
	if !d.consume('{') {
		return r, d.errorf("want '{'")
	}
	attrs := make([]slog.Attr, 0, 8)
	first := true
	for {
		d.skipSpace()
		if d.consume('}') {
			break
		}
		if !first && !d.consume(',') {
			return r, d.errorf("want ',' or '}'")
		}
		first = false
		d.skipSpace()
		key, err := d.str()
		if err != nil {
			return r, err
		}
		d.skipSpace()
		if !d.consume(':') {
			return r, d.errorf("want ':'")
		}
		d.skipSpace()
		switch key {
		case slog.TimeKey, slog.LevelKey, slog.MessageKey:
			if d.peek() == '"' {
				s, err := d.str()
				if err != nil {
					return r, err
				}
				switch key {
				case slog.TimeKey:
					if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
						r.Time = t
						continue
					}
				case slog.LevelKey:
					if err := r.Level.UnmarshalText([]byte(s)); err == nil {
						continue
					}
				case slog.MessageKey:
					r.Message = s
					continue
				}
				attrs = append(attrs, slog.String(key, s))
				continue
			}
		}
		v, err := d.value(0)
		if err != nil {
			return r, err
		}
		attrs = append(attrs, slog.Attr{Key: key, Value: v})
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return r, d.errorf("trailing data")
	}
	r.AddAttrs(attrs...)
	return r, nil
}

const maxDepth = 32

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", ErrBadRecord, d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) consume(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// str reads a JSON string.
func (d *decoder) str() (string, error) {
	if !d.consume('"') {
		return "", d.errorf("want string")
	}
	start := d.pos
	escaped := false
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '\\':
			escaped = true
			d.pos += 2
			continue
		case c == '"':
			raw := d.data[start:d.pos]
			d.pos++
			if !escaped && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(d.data[start-1:d.pos], &s); err != nil {
				return "", d.errorf("bad string: %v", err)
			}
			return s, nil
		case c < 0x20:
			return "", d.errorf("control character in string")
		}
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

func (d *decoder) value(depth int) (slog.Value, error) {
	if depth > maxDepth {
		return slog.Value{}, d.errorf("nested too deep")
	}
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		return slog.StringValue(s), err
	case c == '{':
		return d.group(depth + 1)
	case c == '[':
		start := d.pos
		if err := d.skipValue(depth + 1); err != nil {
			return slog.Value{}, err
		}
		var a []any
		if err := json.Unmarshal(d.data[start:d.pos], &a); err != nil {
			return slog.Value{}, d.errorf("bad array: %v", err)
		}
		return slog.AnyValue(a), nil
	case c == 't' && d.lit("true"):
		return slog.BoolValue(true), nil
	case c == 'f' && d.lit("false"):
		return slog.BoolValue(false), nil
	case c == 'n' && d.lit("null"):
		return slog.AnyValue(nil), nil
	case c == '-' || c >= '0' && c <= '9':
		start := d.pos
		for d.pos < len(d.data) && strings.IndexByte("+-.eE0123456789", d.data[d.pos]) >= 0 {
			d.pos++
		}
		num := string(d.data[start:d.pos])
		if i, err := strconv.ParseInt(num, 10, 64); err == nil {
			return slog.Int64Value(i), nil
		}
		if u, err := strconv.ParseUint(num, 10, 64); err == nil {
			return slog.Uint64Value(u), nil
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return slog.Value{}, d.errorf("bad number %q", num)
		}
		return slog.Float64Value(f), nil
	default:
		return slog.Value{}, d.errorf("unexpected %q", c)
	}
}

func (d *decoder) lit(s string) bool {
	if strings.HasPrefix(string(d.data[d.pos:min(len(d.data), d.pos+len(s))]), s) {
		d.pos += len(s)
		return true
	}
	return false
}

func (d *decoder) group(depth int) (slog.Value, error) {
	d.consume('{')
	var attrs []slog.Attr
	first := true
	for {
		d.skipSpace()
		if d.consume('}') {
			return slog.GroupValue(attrs...), nil
		}
		if !first && !d.consume(',') {
			return slog.Value{}, d.errorf("want ',' or '}'")
		}
		first = false
		d.skipSpace()
		key, err := d.str()
		if err != nil {
			return slog.Value{}, err
		}
		d.skipSpace()
		if !d.consume(':') {
			return slog.Value{}, d.errorf("want ':'")
		}
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return slog.Value{}, err
		}
		attrs = append(attrs, slog.Attr{Key: key, Value: v})
	}
}

// skipValue moves past one JSON value (used for arrays).
func (d *decoder) skipValue(depth int) error {
	if depth > maxDepth {
		return d.errorf("nested too deep")
	}
	d.skipSpace()
	switch c := d.peek(); c {
	case '"':
		_, err := d.str()
		return err
	case '[', '{':
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		d.pos++
		for {
			d.skipSpace()
			if d.consume(closer) {
				return nil
			}
			if d.pos >= len(d.data) {
				return d.errorf("unterminated %c", c)
			}
			if d.consume(',') || d.consume(':') {
				continue
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
		}
	case 0:
		return d.errorf("unexpected end")
	default:
		_, err := d.value(depth)
		return err
	}
}
