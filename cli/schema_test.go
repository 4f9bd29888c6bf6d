package cli

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

type schemaOddArgs struct {
	Any     any                 `json:"any"`
	Raw     json.RawMessage     `json:"raw"`
	Bytes   []byte              `json:"bytes"`
	When    time.Time           `json:"when"`
	Wait    time.Duration       `json:"wait"`
	DIDs    map[hexid.ID]string `json:"dids"`
	Matrix  [][]int             `json:"matrix"`
	Ptr     *schemaOddArgs      `json:"ptr,omitempty"`
	private int
}

// TestSchemaSummaryOddTypes: every type a Go argument can have is
// summarised without an error and without Go type names, and gets an
// example value that decodes.
func TestSchemaSummaryOddTypes(t *testing.T) {
	raw := service.JSONSchema(reflect.TypeFor[schemaOddArgs]())
	s, err := parseSchema(string(raw))
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	d := doc{defs: s.Defs}
	got := map[string]string{}
	for _, f := range d.fields(s, "", 0) {
		got[f.name] = f.typ
	}
	want := map[string]string{
		"any": "any", "raw": "any", "bytes": "base64 string", "when": "time (RFC 3339 string)", "wait": service.DurationTitle,
		"dids": "map from hex ID to string", "matrix": "list of list of integer", "ptr": "{any, raw, bytes, ...}",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: type %q, want %q", k, got[k], v)
		}
	}
	ex := exampleJSON(s)
	var a schemaOddArgs
	if err := json.Unmarshal([]byte(ex), &a); err != nil {
		t.Errorf("example %s does not decode: %v", ex, err)
	}
}
