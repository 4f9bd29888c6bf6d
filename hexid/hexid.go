package hexid

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ID is a CAN identifier, DoIP logical address or DID. Its zero value is 0.
type ID uint32

// ErrSyntax is wrapped by Parse and the decoders for a value that is not an
// identifier.
var ErrSyntax = errors.New("not a hex identifier")

// Parse reads "0x7E8", "0X7e8" or "7E8" (hex, up to 8 digits).
func Parse(s string) (ID, error) {
	h := strings.TrimSpace(s)
	if len(h) > 1 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	if h == "" || len(h) > 8 || strings.ContainsAny(h, "+-_") {
		return 0, fmt.Errorf("%w: %q (want hex such as 0x7E8 or 7E8, or a number)", ErrSyntax, s)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: %q (want hex such as 0x7E8 or 7E8, or a number)", ErrSyntax, s)
	}
	return ID(n), nil
}

// String is the 0x form in upper-case hex: 0x7E8.
func (id ID) String() string { return fmt.Sprintf("0x%X", uint32(id)) }

// MarshalText gives the 0x form; it also makes IDs usable as JSON map keys.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText accepts the forms of Parse: text is always hex (JSON
// numbers are decimal).
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// MarshalJSON gives the 0x form as a JSON string: "0x7E8".
func (id ID) MarshalJSON() ([]byte, error) { return []byte(`"` + id.String() + `"`), nil }

// UnmarshalJSON accepts a non-negative integer (decimal, as JSON writes
// numbers) or a string of the forms of Parse.
func (id *ID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		return id.UnmarshalText([]byte(str))
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return fmt.Errorf("%w: %s (want a number from 0 to 4294967295, or hex such as \"0x7E8\")", ErrSyntax, s)
	}
	*id = ID(n)
	return nil
}
