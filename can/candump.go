package can

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// LogEntry is one frame of a candump log file, the format candump -l writes
// and canplayer reads:
//
//	(1436509052.249713) can0 123#DEADBEEF
//	(1436509052.249713) can0 123#DEADBEEF R
//
// The optional last column is the direction candump -l -x adds: R for a
// received frame, T for one this host transmitted.
type LogEntry struct {
	Time      time.Time
	Interface string // e.g. "can0"; never empty in a valid entry
	Frame     Frame
	Dir       byte // 0 (not logged), 'R' or 'T'
}

// ParseLogLine parses one line of a candump log. A trailing "\n" or "\r\n"
// is allowed. The timestamp has 6 (microseconds, as candump writes) or 9
// (nanoseconds) decimals; fields are separated by spaces or tabs, as many as
// candump's column alignment adds. Errors are *SyntaxError.
func ParseLogLine(line string) (LogEntry, error) {
	var e LogEntry
	if err := parseLogLine(line, &e, ""); err != nil {
		return LogEntry{}, err
	}
	return e, nil
}

// UnmarshalText parses a log line (see ParseLogLine). It implements
// encoding.TextUnmarshaler.
func (e *LogEntry) UnmarshalText(text []byte) error {
	var g LogEntry
	if err := parseLogLine(text, &g, ""); err != nil {
		return err
	}
	*e = g
	return nil
}

// String returns the entry as candump -l writes it, with microseconds and
// without a trailing newline: "(1436509052.249713) can0 123#DEADBEEF".
func (e LogEntry) String() string {
	var buf [32 + 16 + maxTextLen]byte
	return string(appendLogEntry(buf[:0], &e, false))
}

// AppendText appends the entry as String formats it. It fails for an entry
// that could not be read back: an invalid frame, an empty interface name
// or one with white space, a time before 1970 or a direction other than 0,
// 'R' and 'T'. It implements encoding.TextAppender.
func (e LogEntry) AppendText(b []byte) ([]byte, error) {
	if err := e.validate(); err != nil {
		return b, err
	}
	return appendLogEntry(b, &e, false), nil
}

// MarshalText returns the entry as String formats it; see AppendText for
// when it fails. It implements encoding.TextMarshaler.
func (e LogEntry) MarshalText() ([]byte, error) {
	return e.AppendText(nil)
}

// ErrInvalidEntry is wrapped by the errors AppendText returns for an entry
// that cannot be written.
var ErrInvalidEntry = errors.New("invalid candump log entry")

func (e *LogEntry) validate() error {
	switch {
	case e.Interface == "":
		return fmt.Errorf("%w: empty interface name", ErrInvalidEntry)
	case strings.ContainsAny(e.Interface, " \t\r\n"):
		return fmt.Errorf("%w: interface name %q contains white space", ErrInvalidEntry, e.Interface)
	case strings.ContainsFunc(e.Interface, func(r rune) bool { return r < 0x20 || r == 0x7F }):
		return fmt.Errorf("%w: interface name %q contains a control character", ErrInvalidEntry, e.Interface)
	case e.Time.Unix() < 0:
		return fmt.Errorf("%w: time %v is before 1970", ErrInvalidEntry, e.Time)
	case e.Time.Unix() > maxLogSeconds:
		return fmt.Errorf("%w: time %v needs more than 12 digits of seconds", ErrInvalidEntry, e.Time)
	case e.Dir != 0 && e.Dir != 'R' && e.Dir != 'T':
		return fmt.Errorf("%w: direction %q is not R or T", ErrInvalidEntry, e.Dir)
	}
	if err := e.Frame.Validate(); err != nil {
		return err
	}
	return nil
}

// maxLogSeconds is the largest timestamp ParseLogLine reads (12 digits).
const maxLogSeconds = 999_999_999_999

// appendLogEntry formats e with 6 decimals, or 9 when nano is set.
func appendLogEntry(dst []byte, e *LogEntry, nano bool) []byte {
	sec := e.Time.Unix()
	dst = append(dst, '(')
	// candump writes "%010lu.%06lu".
	dst = appendPadded(dst, uint64(max(sec, 0)), 10)
	dst = append(dst, '.')
	if nano {
		dst = appendPadded(dst, uint64(e.Time.Nanosecond()), 9)
	} else {
		dst = appendPadded(dst, uint64(e.Time.Nanosecond()/1000), 6)
	}
	dst = append(dst, ')', ' ')
	dst = append(dst, e.Interface...)
	dst = append(dst, ' ')
	dst = appendFrame(dst, &e.Frame)
	if e.Dir != 0 {
		dst = append(dst, ' ', e.Dir)
	}
	return dst
}

// appendPadded appends v in decimal with at least width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	b := strconv.AppendUint(buf[:0], v, 10)
	for range width - len(b) {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// parseLogLine parses one log line into *e. When the interface name equals
// lastIface, that string is reused instead of allocating a new one.
func parseLogLine[T text](s T, e *LogEntry, lastIface string) error {
	n := len(s)
	if n > 0 && s[n-1] == '\n' {
		n--
		if n > 0 && s[n-1] == '\r' {
			n--
		}
	}
	line := s[:n]
	if n == 0 || line[0] != '(' {
		return syntaxError(line, 0, "log line must start with '('")
	}
	i := 1
	var sec uint64
	start := i
	for i < n && '0' <= line[i] && line[i] <= '9' {
		if i-start == 12 {
			return syntaxError(line, i, "timestamp seconds have more than 12 digits")
		}
		sec = sec*10 + uint64(line[i]-'0')
		i++
	}
	if i == start {
		return syntaxError(line, i, "missing timestamp seconds")
	}
	if i == n || line[i] != '.' {
		return syntaxError(line, i, "missing '.' in timestamp")
	}
	i++
	start = i
	var frac uint64
	for i < n && '0' <= line[i] && line[i] <= '9' && i-start < 9 {
		frac = frac*10 + uint64(line[i]-'0')
		i++
	}
	switch i - start {
	case 6:
		frac *= 1000
	case 9:
	default:
		return syntaxError(line, start, "timestamp must have 6 or 9 decimals")
	}
	if i == n || line[i] != ')' {
		return syntaxError(line, i, "missing ')' after timestamp")
	}
	i++

	// Fields: interface, frame, optional direction.
	var fields [3][2]int
	nf := 0
	for {
		j := i
		for i < n && isSpace(line[i]) {
			i++
		}
		if i == n {
			break
		}
		if i == j {
			return syntaxError(line, i, "missing white space before field")
		}
		if nf == len(fields) {
			return syntaxError(line, i, "unexpected text after direction")
		}
		fields[nf][0] = i
		for i < n && !isSpace(line[i]) {
			if line[i] < 0x20 || line[i] == 0x7F {
				return syntaxError(line, i, "control character in log line")
			}
			i++
		}
		fields[nf][1] = i
		nf++
	}
	switch nf {
	case 0:
		return syntaxError(line, i, "missing interface name")
	case 1:
		return syntaxError(line, i, "missing frame")
	case 3:
		d := line[fields[2][0]:fields[2][1]]
		if len(d) != 1 || (d[0] != 'R' && d[0] != 'T') {
			return syntaxError(line, fields[2][0], "direction must be R or T")
		}
		e.Dir = d[0]
	}
	// The time and interface first: an error frame's line (which
	// parseFrame refuses) tells them too.
	iface := line[fields[0][0]:fields[0][1]]
	if string(iface) == lastIface { // no allocation for the comparison
		e.Interface = lastIface
	} else {
		e.Interface = string(iface)
	}
	e.Time = time.Unix(int64(sec), int64(frac))
	if err := parseFrame(line[fields[1][0]:fields[1][1]], &e.Frame); err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Input = string(line)
			se.Offset += fields[1][0]
		}
		return err
	}
	return nil
}

// LineError is returned by LogReader.Next for a line it cannot parse.
type LineError struct {
	Line int // 1-based line number
	Err  error
}

func (e *LineError) Error() string {
	return "can: log line " + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error, often a *SyntaxError.
func (e *LineError) Unwrap() error { return e.Err }

// maxLogLine bounds the length of a line LogReader accepts; a candump line
// with an FD frame is under 200 bytes.
const maxLogLine = 4096

// LogReader reads a candump log file entry by entry.
//
// Like canplayer, it skips every line that does not start with '(': blank
// lines, comments and the "DROPCOUNT: ..." notes candump writes into logs.
type LogReader struct {
	sc    *bufio.Scanner
	line  int
	iface string // last interface name, reused to spare allocations
	err   error
}

// NewLogReader returns a reader of the candump log in r.
func NewLogReader(r io.Reader) *LogReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLogLine)
	return &LogReader{sc: sc}
}

// Next returns the next entry, or io.EOF after the last one. A line that
// cannot be parsed gives a *LineError; reading may go on after it. For an
// error frame's line (errors.Is(err, ErrErrorFrame): candump -e) the entry
// holds the line's time and interface, and no frame. A read
// error (or a line over 4096 bytes) ends the reading and is returned again
// by later calls.
func (r *LogReader) Next() (LogEntry, error) {
	if r.err != nil {
		return LogEntry{}, r.err
	}
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(b) == 0 || b[0] != '(' {
			continue
		}
		var e LogEntry
		if err := parseLogLine(b, &e, r.iface); err != nil {
			if errors.Is(err, ErrErrorFrame) {
				return LogEntry{Time: e.Time, Interface: e.Interface}, &LineError{Line: r.line, Err: err}
			}
			return LogEntry{}, &LineError{Line: r.line, Err: err}
		}
		r.iface = e.Interface
		return e, nil
	}
	if err := r.sc.Err(); err != nil {
		r.err = &LineError{Line: r.line + 1, Err: err}
	} else {
		r.err = io.EOF
	}
	return LogEntry{}, r.err
}

// Line returns the number of the line the last entry or error came from.
func (r *LogReader) Line() int { return r.line }

// LogWriter writes a candump log file: one line per entry, as candump -l
// writes them. Output is buffered: call Flush when done.
type LogWriter struct {
	// Nanoseconds makes timestamps carry 9 decimals instead of candump's 6.
	// LogReader reads both; canplayer reads only 6.
	Nanoseconds bool

	w   *bufio.Writer
	buf []byte
}

// NewLogWriter returns a writer of a candump log to w.
func NewLogWriter(w io.Writer) *LogWriter {
	return &LogWriter{w: bufio.NewWriter(w), buf: make([]byte, 0, 256)}
}

// Write writes one entry. It fails for an entry that LogEntry.AppendText
// rejects, writing nothing.
func (w *LogWriter) Write(e LogEntry) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("can: write log entry: %w", err)
	}
	b := append(appendLogEntry(w.buf[:0], &e, w.Nanoseconds), '\n')
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("can: write log entry: %w", err)
	}
	return nil
}

// Flush writes buffered entries to the underlying writer.
func (w *LogWriter) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("can: flush log: %w", err)
	}
	return nil
}

// ReadLog reads every entry of a candump log. It stops at the first line
// that cannot be parsed (a *LineError) or read error, returning the entries
// before it.
func ReadLog(r io.Reader) ([]LogEntry, error) {
	lr := NewLogReader(r)
	var out []LogEntry
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}
