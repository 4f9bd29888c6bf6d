package canrecorder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bgkit/bgkit/can"
)

// ErrFilterSyntax is wrapped by the errors of ParseFilter.
var ErrFilterSyntax = errors.New("bad filter")

// errFlag is CAN_ERR_FLAG of linux/can.h: candump clears it from masks.
const errFlag = 0x20000000

// ParseFilter parses a receive filter in candump's syntax:
//
//	123:7FF            frames whose id & 7FF == 123 & 7FF
//	123~7FF            the frames that do not match (inverted)
//	~123:7FF           the same, inverted with a leading '~'
//	1ABCDEF0:1FFFFFFF  an id of 8 digits sets the extended-frame flag (EFFFlag)
//
// The id and the mask are hex, up to 8 digits; the mask may include
// can.EFFFlag (80000000) and can.RTRFlag (40000000) to match the frame
// format and remote frames, as in struct can_filter. candump's error mask
// ("#...") and join ("j") have no counterpart here.
func ParseFilter(s string) (can.Filter, error) {
	bad := func(why string) (can.Filter, error) {
		return can.Filter{}, fmt.Errorf("%w %q: %s", ErrFilterSyntax, s, why)
	}
	body, invert := strings.CutPrefix(s, "~")
	i := strings.IndexAny(body, ":~")
	if i < 0 {
		return bad("want <id>:<mask> or <id>~<mask>")
	}
	if body[i] == '~' {
		if invert {
			return bad("inverted twice")
		}
		invert = true
	}
	idText, maskText := body[:i], body[i+1:]
	id, err := parseHex(idText)
	if err != nil {
		return bad("id: " + err.Error())
	}
	mask, err := parseHex(maskText)
	if err != nil {
		return bad("mask: " + err.Error())
	}
	if len(idText) == 8 {
		id |= can.EFFFlag
	}
	return can.Filter{ID: id, Mask: mask &^ errFlag, Invert: invert}, nil
}

func parseHex(s string) (uint32, error) {
	if s == "" || len(s) > 8 {
		return 0, errors.New("want 1 to 8 hex digits")
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, errors.New("want 1 to 8 hex digits")
	}
	return uint32(v), nil
}
