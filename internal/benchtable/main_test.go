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

func TestRunComparesWithPeer(t *testing.T) {
	in := `pkg: github.com/bgkit/bgkit/integration
BenchmarkCallRoundTrip-2   	       1	4163218541 ns/op	        50.0 p50-µs	       200.0 p99-µs
BenchmarkCallThroughput-2  	       1	1 ns/op	     60000 calls/s
BenchmarkSpawnCall-2       	       1	1 ns/op	         9.000 spawn-call-p50-ms	         1.500 terminate-p50-ms
BenchmarkCallDeadline-2    	       1	1 ns/op	        53.0 deadline-p50-µs	        50.0 no-deadline-p50-µs	         3.000 deadline-cost-µs
BenchmarkLogThroughput-2   	       1	1 ns/op	    500000 records/s	         0 lost
BenchmarkBaselineRawNATS-2 	       1	1 ns/op	        30.0 p50-µs	        90.0 p99-µs	     80000 calls/s
BenchmarkSpawnWarmPool-2   	       1	1 ns/op	         1.200 spawn-p50-ms
pkg: github.com/bgkit/bgkit/bench/peers/goplugin
BenchmarkCallRoundTrip-2   	       1	1492584742 ns/op	        57.40 p50-µs	       223.4 p99-µs
BenchmarkCallThroughput-2  	       1	2780291653 ns/op	     46310 calls/s
BenchmarkSpawnCall-2       	       1	 493369515 ns/op	         9.083 spawn-call-p50-ms	         1.428 terminate-p50-ms
PASS
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| call p50 (µs) | 50 | 57.4 | 0.87 | ≤ 1.0 | yes |",
		"| call p99 (µs) | 200 | 223 | 0.90 | ≤ 1.0 | yes |",
		"| calls/s, 64 callers | 60000 | 46310 | 1.30 | ≥ 1.2 | yes |",
		"| spawn → first answered call p50 (ms) | 9 | 9.08 | 0.99 | ≤ 1.0 | yes |",
		"| terminate p50 (ms) | 1.5 | 1.43 | 1.05 | ≤ 1.0 | no |",
		"| calls/s: bgkit / raw NATS | 0.75 | ≥ 0.85 | no |",
		"| call p50 with a ctx deadline − without (µs) | 3 | ≤ 5 | yes |",
		"| log records/s from one child (lost) | 500000 (0) | ≥ 400,000, 0 lost | yes |",
		"| spawn → serving from a warm pool p50 (ms) | 1.2 | ≤ 2 | yes |",
		"| bench/peers/goplugin | CallThroughput | calls/s | 46310 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no line %q in:\n%s", want, out.String())
		}
	}
}

func TestRunComparesOnlyWhatBothHave(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		absent   []string
	}{
		{
			name: "no peer",
			in: `pkg: github.com/bgkit/bgkit/integration
BenchmarkCallRoundTrip-2 1 1 ns/op 50.0 p50-µs 200.0 p99-µs
`,
			absent: []string{"go-plugin", "same run"},
		},
		{
			name: "peer lacks a figure",
			in: `pkg: github.com/bgkit/bgkit/integration
BenchmarkCallRoundTrip-2 1 1 ns/op 50.0 p50-µs 200.0 p99-µs
BenchmarkCallThroughput-2 1 1 ns/op 60000 calls/s
pkg: github.com/bgkit/bgkit/bench/peers/goplugin
BenchmarkCallThroughput-2 1 1 ns/op 30000 calls/s
`,
			want:   []string{"| calls/s, 64 callers | 60000 | 30000 | 2.00 | ≥ 1.2 | yes |"},
			absent: []string{"call p50", "own figures"},
		},
		{
			name: "deadline costs more than the target",
			in: `pkg: github.com/bgkit/bgkit/integration
BenchmarkCallDeadline-2 1 1 ns/op 60.0 deadline-p50-µs 50.0 no-deadline-p50-µs 10.0 deadline-cost-µs
`,
			want:   []string{"| call p50 with a ctx deadline − without (µs) | 10 | ≤ 5 | no |"},
			absent: []string{"go-plugin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if err := run(strings.NewReader(tt.in), &out); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("no line %q in:\n%s", w, out.String())
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out.String(), a) {
					t.Errorf("%q in:\n%s", a, out.String())
				}
			}
		})
	}
}
