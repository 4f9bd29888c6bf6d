package can

import (
	"errors"
	"strconv"
)

// ErrSyntax is wrapped by every *SyntaxError, so callers can test any parse
// failure of this package with errors.Is(err, ErrSyntax).
var ErrSyntax = errors.New("can: syntax error")

// ErrErrorFrame matches (errors.Is) the *SyntaxError of an error frame:
// candump -e logs them with the CAN_ERR_FLAG bit 0x20000000 set in an
// 8-digit id. They report a controller's errors, not traffic on the bus;
// Frame has no form for them, and a replay skips them.
var ErrErrorFrame = errors.New("can: error frame")

// SyntaxError describes text that is not a valid frame or candump log line.
type SyntaxError struct {
	Input  string // the text that was parsed
	Offset int    // byte offset in Input where the problem was found
	Reason string // what is wrong, e.g. "invalid hex digit 'X'"

	errorFrame bool // the text is an error frame (ErrErrorFrame)
}

// maxQuoted bounds how much of the input an error message repeats.
const maxQuoted = 64

func (e *SyntaxError) Error() string {
	in := e.Input
	if len(in) > maxQuoted {
		in = in[:maxQuoted] + "..."
	}
	return "can: parse " + strconv.Quote(in) + ": offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Is reports whether target is ErrErrorFrame and the text an error frame.
func (e *SyntaxError) Is(target error) bool { return target == ErrErrorFrame && e.errorFrame }

// text is what the parsers accept, so that []byte input is parsed without
// converting it to a string first.
type text interface{ ~string | ~[]byte }

func syntaxError[T text](s T, off int, reason string) *SyntaxError {
	return &SyntaxError{Input: string(s), Offset: off, Reason: reason}
}

// ParseFrame parses a frame in the compact text form of can-utils (cansend,
// candump -L/-l, lib.c parse_canframe):
//
//	123#DEADBEEF        standard (11-bit) id: exactly 3 hex digits
//	1ABCDEF0#00         extended (29-bit) id: exactly 8 hex digits
//	123#                no data
//	123#R  123#R3       remote frame, optionally with its DLC (0–8)
//	123#R8_E            remote frame with a raw DLC of 9–15 (Len 14)
//	123##1DEADBEEF      CAN FD: the hex digit after "##" holds the flags
//	                    (0x1 BRS, 0x2 ESI; 0x4, the kernel's FDF, is ignored)
//	123#DE.AD.BE.EF     a '.' may precede any data byte
//
// Hex digits may be upper or lower case. A classic frame with 8 data bytes
// may carry can-utils' raw DLC suffix ("_9" to "_F"); it is accepted and
// dropped, as Frame has no field for it. An FD frame whose byte count is
// not a CAN FD length is padded with zeros to the next one, as cansend does.
//
// Unlike can-utils, ParseFrame rejects trailing text, identifiers that do
// not fit their format (a 3-digit id above 7FF) and error frames (8 digits
// with the CAN_ERR_FLAG bit 0x20000000 set). Errors are *SyntaxError. A
// frame ParseFrame returns passes Validate.
func ParseFrame(s string) (Frame, error) {
	var f Frame
	if err := parseFrame(s, &f); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// UnmarshalText parses text in the form ParseFrame accepts. It implements
// encoding.TextUnmarshaler.
func (f *Frame) UnmarshalText(text []byte) error {
	var g Frame
	if err := parseFrame(text, &g); err != nil {
		return err
	}
	*f = g
	return nil
}

// String returns the frame in cansend/candump syntax, hex digits in upper
// case: "123#DEADBEEF", "1ABCDEF0#00", "123#R3", "123##1DEADBEEF".
// An invalid frame is printed as far as it can be, never with a panic.
func (f Frame) String() string {
	var buf [maxTextLen]byte
	return string(appendFrame(buf[:0], &f))
}

// AppendText appends the frame's text form (see String) to b. It fails
// for a frame that does not pass Validate. It implements
// encoding.TextAppender.
func (f Frame) AppendText(b []byte) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return b, err
	}
	return appendFrame(b, &f), nil
}

// MarshalText returns the frame's text form (see String). It fails for a
// frame that does not pass Validate. It implements encoding.TextMarshaler.
func (f Frame) MarshalText() ([]byte, error) {
	return f.AppendText(make([]byte, 0, 4+2*int(min(f.Len, MaxFDLen))+6))
}

// maxTextLen is the longest text form of a valid frame:
// 8 id digits, "##", a flags digit and 64 data bytes.
const maxTextLen = 8 + 2 + 1 + 2*MaxFDLen

const hexUpper = "0123456789ABCDEF"

// appendFrame formats f, valid or not, without allocating when dst has room.
func appendFrame(dst []byte, f *Frame) []byte {
	if f.Extended {
		dst = appendHex(dst, f.ID, 8)
	} else {
		dst = appendHex(dst, f.ID, 3)
	}
	dst = append(dst, '#')
	if f.Remote && !f.FD {
		dst = append(dst, 'R')
		switch {
		case f.Len == 0:
		case f.Len <= MaxClassicLen:
			dst = append(dst, hexUpper[f.Len])
		default: // raw DLC 9–15, written as can-utils does: R8_<dlc>
			dst = append(dst, '8', '_', hexUpper[f.Len&0xF])
		}
		return dst
	}
	if f.FD {
		var flags byte
		if f.BRS {
			flags |= 0x1
		}
		if f.ESI {
			flags |= 0x2
		}
		dst = append(dst, '#', hexUpper[flags])
	}
	for _, b := range f.Data[:min(f.Len, MaxFDLen)] {
		dst = append(dst, hexUpper[b>>4], hexUpper[b&0xF])
	}
	return dst
}

// appendHex appends v in upper-case hex with at least width digits.
func appendHex(dst []byte, v uint32, width int) []byte {
	n := 1
	for x := v >> 4; x != 0; x >>= 4 {
		n++
	}
	n = max(n, width)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, hexUpper[(v>>(4*uint(i)))&0xF])
	}
	return dst
}

// unhex returns the value of the hex digit c, or 0xFF.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return 0xFF
}

// errFlag is CAN_ERR_FLAG: set in an 8-digit id, it marks an error frame.
const errFlag = 0x20000000

// parseFrame parses s into *f (which must be zero). See ParseFrame.
func parseFrame[T text](s T, f *Frame) error {
	n := len(s)
	var idLen int
	switch {
	case n > 3 && s[3] == '#':
		idLen = 3
	case n > 8 && s[8] == '#':
		idLen = 8
	default:
		off := 0
		for off < n && s[off] != '#' {
			off++
		}
		if off == n {
			return syntaxError(s, off, "missing '#' after the identifier")
		}
		return syntaxError(s, off, "identifier must be 3 (standard) or 8 (extended) hex digits")
	}
	var id uint32
	for i := range idLen {
		d := unhex(s[i])
		if d > 0xF {
			return syntaxError(s, i, "invalid hex digit "+strconv.QuoteRune(rune(s[i]))+" in identifier")
		}
		id = id<<4 | uint32(d)
	}
	if idLen == 3 {
		if id > MaxID {
			return syntaxError(s, 0, "standard identifier exceeds 7FF")
		}
	} else {
		if id&errFlag != 0 {
			e := syntaxError(s, 0, "error frames are not supported")
			e.errorFrame = true
			return e
		}
		if id > MaxExtendedID {
			return syntaxError(s, 0, "extended identifier exceeds 1FFFFFFF")
		}
		f.Extended = true
	}
	f.ID = id
	i := idLen + 1

	if i < n && (s[i] == 'R' || s[i] == 'r') {
		f.Remote = true
		i++
		if i == n {
			return nil
		}
		d := unhex(s[i])
		if d > 0xF {
			return syntaxError(s, i, "invalid remote frame length "+strconv.QuoteRune(rune(s[i])))
		}
		f.Len = d
		i++
		if d == MaxClassicLen && i < n && s[i] == '_' {
			i++
			if i == n {
				return syntaxError(s, i, "missing raw DLC after '_'")
			}
			raw := unhex(s[i])
			if raw <= MaxClassicLen || raw > 0xF {
				return syntaxError(s, i, "raw DLC must be 9 to F")
			}
			f.Len = raw
			i++
		}
		if i != n {
			return syntaxError(s, i, "unexpected text after remote frame")
		}
		return nil
	}

	maxLen := MaxClassicLen
	if i < n && s[i] == '#' {
		f.FD = true
		maxLen = MaxFDLen
		i++
		if i == n {
			return syntaxError(s, i, "missing CAN FD flags digit after '##'")
		}
		flags := unhex(s[i])
		if flags > 0xF {
			return syntaxError(s, i, "invalid CAN FD flags digit "+strconv.QuoteRune(rune(s[i])))
		}
		f.BRS = flags&0x1 != 0
		f.ESI = flags&0x2 != 0
		i++
	}

	l := 0
	for {
		if i < n && s[i] == '.' {
			i++
		}
		if i >= n {
			break
		}
		if l == maxLen {
			return syntaxError(s, i, "more than "+strconv.Itoa(maxLen)+" data bytes")
		}
		hi := unhex(s[i])
		if hi > 0xF {
			return syntaxError(s, i, "invalid hex digit "+strconv.QuoteRune(rune(s[i]))+" in data")
		}
		if i+1 == n {
			return syntaxError(s, i+1, "odd number of hex digits in data")
		}
		lo := unhex(s[i+1])
		if lo > 0xF {
			return syntaxError(s, i+1, "invalid hex digit "+strconv.QuoteRune(rune(s[i+1]))+" in data")
		}
		f.Data[l] = hi<<4 | lo
		l++
		i += 2
		if !f.FD && l == MaxClassicLen && i < n && s[i] == '_' {
			// can-utils' raw DLC for 8-byte classic frames: checked, dropped.
			i++
			if i == n {
				return syntaxError(s, i, "missing raw DLC after '_'")
			}
			if raw := unhex(s[i]); raw <= MaxClassicLen || raw > 0xF {
				return syntaxError(s, i, "raw DLC must be 9 to F")
			}
			i++
			if i != n {
				return syntaxError(s, i, "unexpected text after raw DLC")
			}
			break
		}
	}
	f.Len = uint8(l)
	if f.FD {
		f.Len, _ = FDLen(l) // l <= 64; Data beyond l is already zero
	}
	return nil
}
