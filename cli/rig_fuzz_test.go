package cli

import (
	"errors"
	"testing"
)

// FuzzParseRig: a rig file never panics the parser, and every mistake is
// placed on a line of the file (or the one after its end, for an
// unterminated block).
func FuzzParseRig(f *testing.F) {
	for _, s := range []string{
		"services:\n  - kind: kinds-test\n    args: {listen: x, tx_id: 0x7E0}\n",
		"services:\n  - kind: kinds-test\n    args:\n      bus: virtual:bus0\n     interval_ms: 300\n",
		"services:\n  - kind: kinds-test\n    args:\n      cyclic:\n        - id: 0x900\n",
		"services: [\n", "services:\n  - kind: kinds-test\n\targs: {}\n", "", "x: y\n",
		"services:\n  - kind: kinds-test\n    args: {interval_ms: soon, tx_id: zz}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		_, err := parseRig("rig.yaml", []byte(s))
		if err == nil {
			return
		}
		var re *rigError
		if !errors.As(err, &re) {
			t.Fatalf("parseRig(%q) = %T %v, want a *rigError", s, err, err)
		}
		if lines := len(yamlLines(s)); re.line < 1 || re.line > lines+1 {
			t.Fatalf("parseRig(%q): line %d of a %d-line file", s, re.line, lines)
		}
	})
}
