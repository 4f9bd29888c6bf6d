package logfwd

import (
	"bytes"
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
	r, _, err := decodeRecord(data)
	return r, err
}

// DecodeLine recognises a line that a JSON handler wrote — a JSON object
// with a level and a message, such as a bgkit child writes on stderr while
// its bus is down — and returns the record it was. Any other line (text,
// a panic, JSON that is not a record) gives false.
func DecodeLine(line []byte) (slog.Record, bool) {
	line = bytes.Trim(line, " \t\r\n")
	if len(line) == 0 || line[0] != '{' {
		return slog.Record{}, false
	}
	r, seen, err := decodeRecord(line)
	return r, err == nil && seen&(seenLevel|seenMsg) == seenLevel|seenMsg
}

// The built-in keys decodeRecord found.
const (
	seenTime = 1 << iota
	seenLevel
	seenMsg
)

func decodeRecord(data []byte) (slog.Record, int, error) {
	seen := 0
	d := decoder{data: data}
	var r slog.Record
	r.Level = slog.LevelInfo
	d.skipSpace()
	if !d.consume('{') {
		return r, seen, d.errorf("want '{'")
	}
	first := true
	for {
		d.skipSpace()
		if d.consume('}') {
			break
		}
		if !first && !d.consume(',') {
			return r, seen, d.errorf("want ',' or '}'")
		}
		first = false
		d.skipSpace()
		rawKey, err := d.rawStr()
		if err != nil {
			return r, seen, err
		}
		d.skipSpace()
		if !d.consume(':') {
			return r, seen, d.errorf("want ':'")
		}
		d.skipSpace()
		if k := string(rawKey); builtin(k, seen) && d.peek() == '"' {
			// string(rawKey) in a comparison does not allocate.
			raw, err := d.rawStr()
			if err != nil {
				return r, seen, err
			}
			switch k {
			case slog.TimeKey:
				if t, ok := parseTime(raw); ok {
					seen |= seenTime
					r.Time = t
					continue
				}
			case slog.LevelKey:
				if l, ok := parseLevel(raw); ok {
					seen |= seenLevel
					r.Level = l
					continue
				}
			case slog.MessageKey:
				seen |= seenMsg
				r.Message = d.text(raw)
				continue
			}
			r.AddAttrs(slog.String(k, d.text(raw))) // k is the key as is: d.text now reads raw's
			continue
		}
		key := d.text(rawKey)
		v, err := d.value(0)
		if err != nil {
			return r, seen, err
		}
		r.AddAttrs(slog.Attr{Key: key, Value: v})
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return r, seen, d.errorf("trailing data")
	}
	return r, seen, nil
}

// builtin reports whether key is the record's own time, level or message
// not yet seen: slog writes those first, so a later one is an attribute.
func builtin(key string, seen int) bool {
	switch key {
	case slog.TimeKey:
		return seen&seenTime == 0
	case slog.LevelKey:
		return seen&seenLevel == 0
	case slog.MessageKey:
		return seen&seenMsg == 0
	}
	return false
}

// parseTime reads the time slog.JSONHandler writes (RFC 3339 with
// nanoseconds) without time.Parse for the usual forms: UTC ("Z") or the
// offset of the local zone at that time.
func parseTime(b []byte) (time.Time, bool) {
	// 2006-01-02T15:04:05[.999999999](Z|±07:00)
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' {
		year, ok1 := digits(b[0:4])
		month, ok2 := digits(b[5:7])
		day, ok3 := digits(b[8:10])
		hour, ok4 := digits(b[11:13])
		minute, ok5 := digits(b[14:16])
		sec, ok6 := digits(b[17:19])
		rest := b[19:]
		nsec := 0
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour < 24 && minute < 60 && sec < 60 {
			ok := true
			if len(rest) > 0 && rest[0] == '.' {
				i := 1
				for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
					if i <= 9 {
						nsec = nsec*10 + int(rest[i]-'0')
					}
				}
				if i == 1 || i > 10 {
					ok = false
				}
				for j := i; j <= 9; j++ {
					nsec *= 10
				}
				rest = rest[i:]
			}
			utc := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
			switch {
			case !ok:
			case len(rest) == 1 && rest[0] == 'Z':
				if utc.Day() == day { // not 31 February
					return utc, true
				}
			case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
				oh, okh := digits(rest[1:3])
				om, okm := digits(rest[4:6])
				off := (oh*60 + om) * 60
				if rest[0] == '-' {
					off = -off
				}
				t := utc.Add(-time.Duration(off) * time.Second).In(time.Local)
				if _, local := t.Zone(); okh && okm && local == off && utc.Day() == day {
					return t, true
				}
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseLevel reads a level: the four names without allocating, others
// (WARN+2) through Level.UnmarshalText.
func parseLevel(b []byte) (slog.Level, bool) {
	switch string(b) {
	case "INFO":
		return slog.LevelInfo, true
	case "WARN":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	case "DEBUG":
		return slog.LevelDebug, true
	}
	var l slog.Level
	err := l.UnmarshalText(b)
	return l, err == nil
}

const maxDepth = 32

type decoder struct {
	data []byte
	pos  int
	// Of the last string read: whether it had escapes (or bad UTF-8), and
	// then its decoded text.
	escaped   bool
	unescaped string
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
	raw, err := d.rawStr()
	if err != nil {
		return "", err
	}
	return d.text(raw), nil
}

// rawStr reads a JSON string and returns its bytes between the quotes,
// still escaped (d.text decodes them).
func (d *decoder) rawStr() ([]byte, error) {
	if !d.consume('"') {
		return nil, d.errorf("want string")
	}
	start := d.pos
	d.escaped = false
	ascii := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if plain[c] {
			d.pos++
			continue
		}
		switch {
		case c == '\\':
			d.escaped = true
			d.pos += 2
			continue
		case c == '"':
			raw := d.data[start:d.pos]
			d.pos++
			if !d.escaped && !ascii && !utf8.Valid(raw) {
				d.escaped = true // json.Unmarshal replaces invalid bytes
			}
			if d.escaped {
				var s string
				if err := json.Unmarshal(d.data[start-1:d.pos], &s); err != nil {
					d.pos = start
					return nil, d.errorf("bad string: %v", err)
				}
				d.unescaped = s
			}
			return raw, nil
		case c < 0x20:
			return nil, d.errorf("control character in string")
		}
		ascii = false // c >= 0x80: utf8.Valid checks the string at its end
		d.pos++
	}
	return nil, d.errorf("unterminated string")
}

// plain tells the bytes that stand for themselves in a JSON string and
// are ASCII: all but '"', '\\', control characters and bytes >= 0x80.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// text is the string rawStr last returned raw.
func (d *decoder) text(raw []byte) string {
	if d.escaped {
		return d.unescaped
	}
	return string(raw)
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
		if i, ok := smallInt(d.data[start:d.pos]); ok {
			return slog.Int64Value(i), nil
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

// smallInt parses an integer of up to 18 digits (JSON: no leading zero
// but for 0 itself, no plus sign).
func smallInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
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
			if len(attrs) == 0 { // {}: an empty map or struct, which an empty group would drop
				return slog.AnyValue(map[string]any{}), nil
			}
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
