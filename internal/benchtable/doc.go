// Command benchtable turns `go test -bench` output into a Markdown table of
// the figures the benchmarks report with b.ReportMetric.
//
//	go test -run '^$' -bench . ./... | go run ./internal/benchtable
package main
