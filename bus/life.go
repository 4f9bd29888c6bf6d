package bus

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Lifecycle events published on life.NAME by the parent or agent of an
// instance.
const (
	LifeStarted    = "started"
	LifeExited     = "exited"
	LifeRestarting = "restarting"
)

// LifeEvent is the payload on life.NAME.
type LifeEvent struct {
	Event string    `json:"event"`          // LifeStarted, LifeExited or LifeRestarting
	Name  string    `json:"name"`           // the service name
	ID    string    `json:"id,omitempty"`   // the instance id ($SRV id)
	PID   int       `json:"pid,omitempty"`  // its process id, on Host
	Host  string    `json:"host,omitempty"` // the machine it runs on
	Time  time.Time `json:"time"`
	// Status is the exit status (exited): the code, or -1 for a signal.
	Status int `json:"status"`
	// Signal names the signal that killed it (exited), if any.
	Signal string `json:"signal,omitempty"`
	// Error describes a failed exit or the cause of a restart.
	Error string `json:"error,omitempty"`
	// Attempt and BackoffMS describe a restart (restarting).
	Attempt   int   `json:"attempt,omitempty"`
	BackoffMS int64 `json:"backoff_ms,omitempty"`
}

// AppendJSON appends e as encoding/json marshals it (the same bytes: the
// same field order, omissions and escaping), without reflection: a parent
// publishes an exited event right after the reap, when the little it runs
// runs cold.
func (e LifeEvent) AppendJSON(b []byte) []byte {
	b = append(b, `{"event":`...)
	b = appendJSONString(b, e.Event)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, e.Name)
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, e.ID)
	}
	if e.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(e.PID), 10)
	}
	if e.Host != "" {
		b = append(b, `,"host":`...)
		b = appendJSONString(b, e.Host)
	}
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	if e.Signal != "" {
		b = append(b, `,"signal":`...)
		b = appendJSONString(b, e.Signal)
	}
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, e.Error)
	}
	if e.Attempt != 0 {
		b = append(b, `,"attempt":`...)
		b = strconv.AppendInt(b, int64(e.Attempt), 10)
	}
	if e.BackoffMS != 0 {
		b = append(b, `,"backoff_ms":`...)
		b = strconv.AppendInt(b, e.BackoffMS, 10)
	}
	return append(b, '}')
}

// appendJSONString appends s quoted as encoding/json does: HTML
// characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
