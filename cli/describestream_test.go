package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// $SRV.INFO marks streaming endpoints, and describe shows them as streams
// whose example line runs.
func TestDescribeStream(t *testing.T) {
	_, url := callStreamServe(t)
	ctx := t.Context()
	jsonOut, errOut, code := runCLI(t, ctx, "describe", "--json", "--server", url, "CALL_STREAM_SERVICE")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ds describedService
	if err := json.Unmarshal([]byte(jsonOut), &ds); err != nil {
		t.Fatal(err)
	}
	for _, ep := range ds.Endpoints {
		var out struct {
			Stream     bool           `json:"x-stream"`
			Properties map[string]any `json:"properties"`
			Type       string         `json:"type"`
		}
		if err := json.Unmarshal(ep.OutSchema, &out); err != nil {
			t.Fatalf("%s: out_schema %s: %v", ep.Name, ep.OutSchema, err)
		}
		if !ep.Stream || !out.Stream {
			t.Errorf("%s: stream %v, out_schema %s: want both marked", ep.Name, ep.Stream, ep.OutSchema)
		}
		// The out_schema is the item's.
		switch ep.Name {
		case "count":
			if out.Properties["n"] == nil || out.Properties["text"] == nil {
				t.Errorf("count: out_schema %s is not the item's", ep.OutSchema)
			}
		default:
			if out.Type != "integer" {
				t.Errorf("%s: out_schema %s is not the item's", ep.Name, ep.OutSchema)
			}
		}
	}
	out, errOut, code := runCLI(t, ctx, "describe", "--server", url, "CALL_STREAM_SERVICE", "count")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	if !strings.Contains(out, "output: stream of object") {
		t.Errorf("no \"output: stream of object\":\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^  example: bgkit call --stream CALL_STREAM_SERVICE count (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no --stream example line:\n%s", out)
	}
	if _, errOut, code := runCLI(t, ctx, "call", "--stream", "--server", url, "CALL_STREAM_SERVICE", "count", m[1]); code != 0 {
		t.Errorf("example fails: %s", errOut)
	}
}
