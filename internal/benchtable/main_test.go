package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := `goos: linux
pkg: github.com/bgkit/bgkit/integration
BenchmarkCallRoundTrip-2   	       1	4163218541 ns/op	       195.1 p50-µs	       339.9 p99-µs
BenchmarkParseFrame-2   	 1000000	        53.1 ns/op	       0 B/op	       0 allocs/op
PASS
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := `| package | benchmark | figure | value |
|---|---|---|---|
| integration | CallRoundTrip | p50-µs | 195.1 |
| integration | CallRoundTrip | p99-µs | 339.9 |
| integration | ParseFrame | ns/op | 53.1 |
| integration | ParseFrame | B/op | 0 |
| integration | ParseFrame | allocs/op | 0 |
`
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
