package cli

import "testing"

// TestStreamItemOneLine: call --stream writes one JSON value per line,
// also for an item a service sent indented.
func TestStreamItemOneLine(t *testing.T) {
	for _, tc := range []struct{ item, want string }{
		{`{"a":1}`, "{\"a\":1}\n"},
		{"{\n  \"a\": 1,\n  \"b\": [1, 2]\n}", "{\"a\":1,\"b\":[1,2]}\n"},
		{"\"x\\ny\"", "\"x\\ny\"\n"},
	} {
		if got := string(appendItemLine(nil, []byte(tc.item))); got != tc.want {
			t.Errorf("%q: wrote %q, want %q", tc.item, got, tc.want)
		}
	}
}
