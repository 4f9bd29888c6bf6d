package service

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestStreamMetadata checks that the out_schema of a streaming endpoint in
// $SRV.INFO is marked "x-stream", so that bgkit describe says "stream of".
func TestStreamMetadata(t *testing.T) {
	for _, stream := range []bool{true, false} {
		md := endpointMetadata(Endpoint{Out: reflect.TypeFor[schemaInner](), Stream: stream})
		var m map[string]any
		if err := json.Unmarshal([]byte(md[MetadataOutSchema]), &m); err != nil {
			t.Fatalf("out_schema %q: %v", md[MetadataOutSchema], err)
		}
		if got := m[SchemaStreamKey] == true; got != stream {
			t.Errorf("stream %v: out_schema %s", stream, md[MetadataOutSchema])
		}
		if at(m, "properties", "id") == nil {
			t.Errorf("stream %v: out_schema lacks the item's properties: %s", stream, md[MetadataOutSchema])
		}
	}
}

// TestStreamSchemaOrder checks that StreamSchema keeps the order of the
// item's properties, which bgkit describe lists in that order.
func TestStreamSchemaOrder(t *testing.T) {
	type item struct {
		Zed   int `json:"zed"`
		Alpha int `json:"alpha"`
	}
	s := string(StreamSchema(reflect.TypeFor[item]()))
	if z, a := strings.Index(s, `"zed"`), strings.Index(s, `"alpha"`); z < 0 || a < 0 || z > a {
		t.Errorf("properties reordered: %s", s)
	}
	if !json.Valid([]byte(s)) {
		t.Errorf("not JSON: %s", s)
	}
}
