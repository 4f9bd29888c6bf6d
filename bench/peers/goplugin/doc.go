// Package goplugin is the peer benchmark of bgkit: the same workloads as
// bgkit's figure benchmarks (integration/bench_test.go), run against
// github.com/hashicorp/go-plugin v1.7.0 over net/rpc, where the parent
// calls its child directly over one socket.
//
// # Shape
//
// The child is this package's test binary, re-executed: it serves one
// plugin, "echo", whose method takes an int and returns it (the shape of
// bgkit's counter "add" method: echo(int) int). The benchmarks report the
// figures bgkit's do, with the same metric names, so that
// internal/benchtable can put both side by side:
//
//   - BenchmarkCallRoundTrip: p50-µs and p99-µs of 20,000 calls, one caller
//   - BenchmarkCallThroughput: calls/s with 64 concurrent callers
//   - BenchmarkSpawnCall: spawn → first answered call p50 and terminate p50
//
// # Same load
//
// On a shared machine the load changes from second to second, so figures
// measured one after the other compare badly. BenchmarkVsCall and
// BenchmarkVsSpawnCall run bgkit (this module requires bgkit through a
// replace of the enclosing repository) and go-plugin in one process, in
// alternating rounds, and report both and their ratio; the bgkit child is
// this test binary too, serving EchoService (echo(int) int).
//
// # Running
//
// It is its own Go module, so that bgkit's module does not depend on
// go-plugin; `make bench` runs it in the same run as bgkit's benchmarks:
//
//	cd bench/peers/goplugin && go test -run '^$' -bench . -benchtime 1x
package goplugin
