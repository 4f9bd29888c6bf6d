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
			name: "alternating rounds in one process",
			in: `pkg: github.com/bgkit/bgkit/bench/peers/goplugin
BenchmarkVsCall-2 1 1 ns/op 47558 bgkit-calls/s 63.84 bgkit-p50-µs 171.7 bgkit-p99-µs 1.070 calls/s-ratio 44828 goplugin-calls/s 70.15 goplugin-p50-µs 162.1 goplugin-p99-µs 0.9101 p50-ratio 1.059 p99-ratio
BenchmarkVsSpawnCall-2 1 1 ns/op 11.53 bgkit-spawn-call-p50-ms 2.036 bgkit-terminate-p50-ms 9.839 goplugin-spawn-call-p50-ms 1.721 goplugin-terminate-p50-ms 1.171 spawn-call-ratio 1.183 terminate-ratio 612.0 bgkit-terminate-cpu-µs 306.0 goplugin-terminate-cpu-µs 2.000 terminate-cpu-ratio
pkg: github.com/bgkit/bgkit/integration
BenchmarkThroughputVsRawNATS-2 1 1 ns/op 33124 calls/s 0.5913 ratio 71220 raw-calls/s
BenchmarkBaselineRawNATS-2 1 1 ns/op 30.0 p50-µs 90.0 p99-µs 80000 calls/s
BenchmarkCallThroughput-2 1 1 ns/op 60000 calls/s
`,
			want: []string{
				"| call p50 (µs) | 63.8 | 70.2 | 0.91 | ≤ 1.0 | yes |",
				"| call p99 (µs) | 172 | 162 | 1.06 | ≤ 1.0 | no |",
				"| calls/s, 64 callers | 47558 | 44828 | 1.07 | ≥ 1.2 | no |",
				"| spawn → first answered call p50 (ms) | 11.5 | 9.84 | 1.17 | ≤ 1.0 | no |",
				"| terminate p50 (ms) | 2.04 | 1.72 | 1.18 | ≤ 1.0 | no |",
				"| parent's CPU per terminate p50 (µs) | 612 | 306 | 2.00 | — | — |",
				"| calls/s: bgkit / raw NATS (alternating rounds) | 0.59 | ≥ 0.85 | no |",
			},
			absent: []string{"| calls/s: bgkit / raw NATS | 0.75"},
		},
		{
			// go-plugin's yamux logs to stderr while the benchmark runs:
			// its line comes between the name and the figures, which go
			// on the next line.
			name: "output between a benchmark's name and its figures",
			in: `pkg: github.com/bgkit/bgkit/bench/peers/goplugin
BenchmarkVsSpawnCall-2   	2026/12/02 15:56:27 [ERR] yamux: Failed to write header: write unix @->/tmp/plugin1428360874: write: broken pipe
2026/12/02 15:56:27 [ERR] yamux: Failed to write header: write unix @->/tmp/plugin3311747538: write: broken pipe
       2	 365278790 ns/op	         6.925 bgkit-spawn-call-p50-ms	         1.070 bgkit-terminate-p50-ms	         7.000 goplugin-spawn-call-p50-ms	         0.8560 goplugin-terminate-p50-ms	         0.9893 spawn-call-ratio	         1.250 terminate-ratio
BenchmarkVsCall-2	1	1 ns/op	47558 bgkit-calls/s
PASS
`,
			want: []string{
				"| bench/peers/goplugin | VsSpawnCall | terminate-ratio | 1.250 |",
				"| terminate p50 (ms) | 1.07 | 0.856 | 1.25 | ≤ 1.0 | no |",
				"| bench/peers/goplugin | VsCall | bgkit-calls/s | 47558 |",
			},
			absent: []string{"2026/12/02"},
		},
		{
			// A benchmark that failed has no figures: a figures line after
			// its failure is nobody's.
			name: "a failed benchmark's name is closed",
			in: `pkg: github.com/bgkit/bgkit/bench/peers/goplugin
BenchmarkVsSpawnCall-2   	noise on stderr
--- FAIL: BenchmarkVsSpawnCall
    kit_test.go:173: ECHO7: killed by SIGKILL after the grace period
FAIL
       1	 5 ns/op	 1.250 terminate-ratio
`,
			absent: []string{"terminate-ratio", "terminate p50"},
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
