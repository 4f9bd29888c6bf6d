// Command benchtable turns `go test -bench` output into a Markdown table of
// the figures the benchmarks report with b.ReportMetric.
//
//	go test -run '^$' -bench . ./... | go run ./internal/benchtable
//
// # Comparisons
//
// When the input also holds the go-plugin peer's benchmarks
// (bench/peers/goplugin, run by `make bench` in the same run), a second
// table puts bgkit's and go-plugin's call p50 and p99, calls/s with 64
// callers, spawn → first answered call p50 and terminate p50 side by side
// with the ratio bgkit / go-plugin and the target. A third table
// holds bgkit's own same-run figures: calls/s against raw NATS, the cost
// of a ctx deadline, log throughput and warm-pool spawn.
package main
