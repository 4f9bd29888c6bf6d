package service

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics; it either accepts input that
// encoding/json accepts into the same type and that validates, or says
// why in the user's terms (a *ValidationError naming a field, or
// ErrSyntax), never in Go's.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"step":1,"filters":["a"]}`, `{"interval_ms":"x"}`, `{"tx_id":"zz"}`, `{"intervl_ms":1}`,
		`{"cyclic":[{"id":"nope"}]}`, `{"replay":{"fil":1}}`, `[1]`, `{"step":`, `{"step":1} {}`,
		`{"pad_byte":300}`, `{"enabled":"yes"}`, `{"mode":"\"q\\\"x"}`, `{"timeout":"5s"}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a errArgs
		err := Decode(data, &a)
		if err == nil {
			var b errArgs
			if json.Unmarshal(data, &b) != nil {
				t.Fatalf("Decode accepted %q, which encoding/json refuses", data)
			}
			if Validate(&a) != nil {
				t.Fatalf("Decode accepted %q, which does not validate", data)
			}
			return
		}
		msg := err.Error()
		for _, goSpeak := range []string{"Go struct", "Go value", "errArgs", "json: ", "hexid.ID", "fails \""} {
			if strings.Contains(msg, goSpeak) {
				t.Fatalf("Decode(%q) = %q speaks Go (%q)", data, msg, goSpeak)
			}
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			if len(ve.Fields) == 0 || ve.Fields[0].Message == "" {
				t.Fatalf("Decode(%q) = empty ValidationError", data)
			}
			return
		}
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("Decode(%q) = %T %q, want a *ValidationError or ErrSyntax", data, err, err)
		}
	})
}
