package integration

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// The benchmarks below measure fixed workloads and report figures with
// ReportMetric; `make bench` runs each once (-benchtime 1x) and prints the
// table. ns/op is the time of the whole workload.

var quiet = spawn.WithLogger(slog.New(slog.DiscardHandler))

// Profiling a benchmark's children: with BGKIT_BENCH_CHILD_CPUPROFILE=PREFIX
// in the environment of `go test -bench`, every child of the test binary
// writes a CPU profile of its first BGKIT_BENCH_CHILD_CPUPROFILE_SECS
// seconds (default 10) to PREFIX.<pid>.pprof. The parent's own profile is
// go test's -cpuprofile.
// BGKIT_BENCH_CHILD_ENV="K=V ..." adds entries to the environment of the
// call benchmarks' children only (e.g. GOMAXPROCS=2), to measure them.
const (
	benchChildEnv            = "BGKIT_BENCH_CHILD_ENV"
	benchChildProfileEnv     = "BGKIT_BENCH_CHILD_CPUPROFILE"
	benchChildProfileSecsEnv = "BGKIT_BENCH_CHILD_CPUPROFILE_SECS"
)

func init() {
	prefix := os.Getenv(benchChildProfileEnv)
	if prefix == "" || !spawn.IsChild() {
		return
	}
	secs, err := strconv.ParseFloat(os.Getenv(benchChildProfileSecsEnv), 64)
	if err != nil || secs <= 0 {
		secs = 10
	}
	f, err := os.Create(fmt.Sprintf("%s.%d.pprof", prefix, os.Getpid()))
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	time.AfterFunc(time.Duration(secs*float64(time.Second)), func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}

func benchBus(b *testing.B) *bus.Bus {
	bb, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bb.Close() })
	return bb
}

func benchCounter(b *testing.B, bb *bus.Bus, opts ...spawn.Option) (*spawn.Handle, *controller.Controller) {
	opts = append([]spawn.Option{quiet, spawn.WithEnv(strings.Fields(os.Getenv(benchChildEnv))...)}, opts...)
	h, err := spawn.Run(context.Background(), bb, NewCounterService, CounterArgs{Step: 1}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Terminate(context.Background()) })
	c, err := controller.Connect(context.Background(), bb, h.ServiceName())
	if err != nil {
		b.Fatal(err)
	}
	return h, c
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// BenchmarkCallRoundTrip: parent → child call latency, one caller.
func BenchmarkCallRoundTrip(b *testing.B) {
	bb := benchBus(b)
	_, c := benchCounter(b, bb)
	ctx := context.Background()
	const n = 20000
	lat := make([]time.Duration, n)
	for range b.N {
		for i := range n {
			t0 := time.Now()
			if err := c.Call(ctx, "add", 1, nil); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(t0)
		}
	}
	b.ReportMetric(us(percentile(lat, 0.50)), "p50-µs")
	b.ReportMetric(us(percentile(lat, 0.99)), "p99-µs")
}

// BenchmarkCallThroughput: calls/s with 64 concurrent callers on one
// connection.
func BenchmarkCallThroughput(b *testing.B) {
	bb := benchBus(b)
	h, c := benchCounter(b, bb)
	ctx := context.Background()
	const callers, per = 64, 2000
	var rate, cpu float64
	for range b.N {
		var wg sync.WaitGroup
		var failed atomic.Int64
		cpu0 := benchCPU(os.Getpid()) + benchCPU(h.PID())
		t0 := time.Now()
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range per {
					if err := c.Call(ctx, "add", 1, nil); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		rate = callers * per / time.Since(t0).Seconds()
		cpu = (benchCPU(os.Getpid()) + benchCPU(h.PID()) - cpu0).Seconds() * 1e6 / (callers * per)
		if failed.Load() > 0 {
			b.Fatalf("%d calls failed", failed.Load())
		}
	}
	b.ReportMetric(rate, "calls/s")
	b.ReportMetric(cpu, "cpu-µs/call")
}

// benchCPU is the CPU time (user and system) a process has used so far,
// from /proc/PID/stat. CPU per call depends much less on the load of a
// shared machine than calls/s, so it shows what a change costs or saves.
func benchCPU(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
}

// BenchmarkSpawnTerminate: spawn → serving and graceful terminate (logs
// flushed), sequentially.
func BenchmarkSpawnTerminate(b *testing.B) {
	bb := benchBus(b)
	ctx := context.Background()
	const n = 30
	var spawnT, termT []time.Duration
	for range b.N {
		for range n {
			t0 := time.Now()
			h, err := spawn.Run(ctx, bb, NewCounterService, CounterArgs{Step: 1}, quiet)
			if err != nil {
				b.Fatal(err)
			}
			spawnT = append(spawnT, time.Since(t0))
			t0 = time.Now()
			if err := h.Terminate(ctx); err != nil {
				b.Fatal(err)
			}
			termT = append(termT, time.Since(t0))
		}
	}
	b.ReportMetric(us(percentile(spawnT, 0.5))/1e3, "spawn-p50-ms")
	b.ReportMetric(us(percentile(termT, 0.5))/1e3, "terminate-p50-ms")
}

// BenchmarkSpawnCall: spawn → first answered call (spawn.Run, Connect and
// one call) and graceful terminate, sequentially: the shape of the go-plugin
// peer's BenchmarkSpawnCall (bench/peers/goplugin).
func BenchmarkSpawnCall(b *testing.B) {
	bb := benchBus(b)
	ctx := context.Background()
	const n = 30
	var spawnT, termT []time.Duration
	for range b.N {
		for range n {
			t0 := time.Now()
			h, err := spawn.Run(ctx, bb, NewCounterService, CounterArgs{Step: 1}, quiet)
			if err != nil {
				b.Fatal(err)
			}
			c, err := controller.Connect(ctx, bb, h.ServiceName())
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Call(ctx, "add", 1, nil); err != nil {
				b.Fatal(err)
			}
			spawnT = append(spawnT, time.Since(t0))
			t0 = time.Now()
			if err := h.Terminate(ctx); err != nil {
				b.Fatal(err)
			}
			termT = append(termT, time.Since(t0))
		}
	}
	b.ReportMetric(us(percentile(spawnT, 0.5))/1e3, "spawn-call-p50-ms")
	b.ReportMetric(us(percentile(termT, 0.5))/1e3, "terminate-p50-ms")
}

// BenchmarkSpawnWarmPool: spawn → serving (spawn.Run returns) and spawn →
// first answered call, taking children from a warm pool (spawn.NewPool):
// exec and init are done before the clock starts. Each spawn waits for
// the pool to be full again, so that it measures a warm start.
func BenchmarkSpawnWarmPool(b *testing.B) {
	bb := benchBus(b)
	ctx := context.Background()
	pool, err := spawn.NewPool(bb, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	const n = 30
	var spawnT, callT []time.Duration
	for range b.N {
		for range n {
			for pool.Idle() < 2 {
				time.Sleep(time.Millisecond)
			}
			t0 := time.Now()
			h, err := spawn.Run(ctx, bb, NewCounterService, CounterArgs{Step: 1}, quiet, spawn.WithPool(pool))
			if err != nil {
				b.Fatal(err)
			}
			spawnT = append(spawnT, time.Since(t0))
			c, err := controller.Connect(ctx, bb, h.ServiceName())
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Call(ctx, "add", 1, nil); err != nil {
				b.Fatal(err)
			}
			callT = append(callT, time.Since(t0))
			if err := h.Terminate(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(us(percentile(spawnT, 0.5))/1e3, "spawn-p50-ms")
	b.ReportMetric(us(percentile(callT, 0.5))/1e3, "spawn-call-p50-ms")
}

// BenchmarkCallDeadline: what a ctx deadline adds to a call (the timeout
// header, the child's context). Calls with and without a deadline
// alternate, so that both see the same load.
//
// raw-header-cost-µs is the same difference for a bare nats.go responder
// on a plain nats-server, called like the controller calls (a reply
// subject of its own, the same header): what NATS itself spends on a
// header, in the same run.
func BenchmarkCallDeadline(b *testing.B) {
	bb := benchBus(b)
	_, c := benchCounter(b, bb)
	raw := startRawResponder(b)
	replies := make(chan *nats.Msg, 1)
	if _, err := raw.ChanSubscribe("_INBOX.deadline.1", replies); err != nil {
		b.Fatal(err)
	}
	rawCall := func(h nats.Header) {
		if err := raw.PublishMsg(&nats.Msg{Subject: "raw.echo", Reply: "_INBOX.deadline.1", Header: h, Data: []byte("1")}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-replies:
		case <-time.After(5 * time.Second):
			b.Fatal("raw responder: no reply")
		}
	}
	ctx := context.Background()
	const n = 10000
	with := make([]time.Duration, n)
	without := make([]time.Duration, n)
	rawWith := make([]time.Duration, n)
	rawWithout := make([]time.Duration, n)
	kitCall := func(deadline bool) time.Duration {
		t0 := time.Now()
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline {
			cctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		}
		err := c.Call(cctx, "add", 1, nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	timed := func(f func()) time.Duration { t0 := time.Now(); f(); return time.Since(t0) }
	withHeader := nats.Header{service.TimeoutHeader: {"10000"}}
	// In blocks of one service at a time (a call right after one to the
	// other process is slower by several µs here), with and without in
	// both orders (ABBA).
	const block = 500
	for range b.N {
		for start := 0; start < n; start += block {
			for i := start; i < start+block; i++ {
				if i%2 == 0 {
					without[i], with[i] = kitCall(false), kitCall(true)
				} else {
					with[i], without[i] = kitCall(true), kitCall(false)
				}
			}
			for i := start; i < start+block; i++ {
				if i%2 == 0 {
					rawWithout[i] = timed(func() { rawCall(nil) })
					rawWith[i] = timed(func() { rawCall(withHeader) })
				} else {
					rawWith[i] = timed(func() { rawCall(withHeader) })
					rawWithout[i] = timed(func() { rawCall(nil) })
				}
			}
		}
	}
	pw, po := us(percentile(with, 0.5)), us(percentile(without, 0.5))
	b.ReportMetric(pw, "deadline-p50-µs")
	b.ReportMetric(po, "no-deadline-p50-µs")
	b.ReportMetric(pw-po, "deadline-cost-µs")
	b.ReportMetric(us(percentile(rawWith, 0.5))-us(percentile(rawWithout, 0.5)), "raw-header-cost-µs")
}

// counting is a handler that counts records.
type counting struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *counting) Enabled(context.Context, slog.Level) bool { return true }
func (c *counting) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "spam" && c.n.Add(1) == c.want {
		close(c.done)
	}
	return nil
}
func (c *counting) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *counting) WithGroup(string) slog.Handler      { return c }

// BenchmarkLogThroughput: records/s from one child to the parent's
// handler, and how many were lost.
func BenchmarkLogThroughput(b *testing.B) {
	const n = 300000
	var rate float64
	var lost int64
	for range b.N {
		bb := benchBus(b)
		cnt := &counting{want: n, done: make(chan struct{})}
		h, c := benchCounter(b, bb, spawn.WithLogger(slog.New(cnt)), spawn.WithName(fmt.Sprint("LOGGER", time.Now().UnixNano())))
		t0 := time.Now()
		if err := c.Call(context.Background(), "log", n, nil); err != nil {
			b.Fatal(err)
		}
		select {
		case <-cnt.done:
		case <-time.After(60 * time.Second):
		}
		rate = float64(cnt.n.Load()) / time.Since(t0).Seconds()
		h.Terminate(context.Background())
		lost = n - cnt.n.Load()
	}
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(float64(lost), "lost")
}

// BenchmarkCallDuringLogBurst: the latency of one caller's calls to a
// child while another child logs 1,000,000 records as fast as it can
// (the calls made from its 10,000th record to the end of its log call).
func BenchmarkCallDuringLogBurst(b *testing.B) {
	const records = 1000000
	bb := benchBus(b)
	cnt := &counting{want: 10000, done: make(chan struct{})}
	_, loud := benchCounter(b, bb, spawn.WithLogger(slog.New(cnt)), spawn.WithName("LOUD"))
	_, quiet := benchCounter(b, bb, spawn.WithName("QUIET"))
	ctx := context.Background()
	var lat []time.Duration
	for range b.N {
		logged := make(chan error, 1)
		go func() { logged <- loud.Call(ctx, "log", records, nil) }()
		<-cnt.done
	calls:
		for {
			select {
			case err := <-logged:
				if err != nil {
					b.Fatal(err)
				}
				break calls
			default:
			}
			t0 := time.Now()
			if err := quiet.Call(ctx, "add", 1, nil); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		cnt.n.Store(0)
		cnt.done = make(chan struct{})
	}
	b.ReportMetric(float64(len(lat))/float64(b.N), "calls")
	b.ReportMetric(us(percentile(lat, 0.50)), "p50-µs")
	b.ReportMetric(us(percentile(lat, 0.99)), "p99-µs")
}

// rssMB is a process's resident memory (VmRSS) in MiB.
func rssMB(pid int) float64 { return procMB("/proc/"+strconv.Itoa(pid)+"/status", "VmRSS:") }

// pssMB is a process's proportional share of resident memory (pages
// shared with other processes, such as the binary's text, are divided
// among them), so that the sum over processes is the memory they use.
func pssMB(pid int) float64 { return procMB("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", "Pss:") }

func procMB(file, key string) float64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "kB")))
			return float64(kb) / 1024
		}
	}
	return -1
}

// BenchmarkIdleRSS: resident memory of an idle child and of a parent
// process that runs the embedded server with one child (a fresh helper
// process, so the benchmark's own heap does not count).
func BenchmarkIdleRSS(b *testing.B) {
	var child, parent float64
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperParentEnv+"=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 256)
		k, _ := out.Read(buf)
		f := strings.Fields(strings.TrimPrefix(string(buf[:k]), "PIDS "))
		if len(f) < 1 {
			b.Fatalf("helper printed %q", buf[:k])
		}
		pid, _ := strconv.Atoi(f[0])
		child, parent = rssMB(pid), rssMB(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		awaitExit(b, pid, 2*time.Second)
		if len(f) > 1 {
			gc, _ := strconv.Atoi(f[1])
			awaitExit(b, gc, 2*time.Second)
		}
	}
	b.ReportMetric(child, "child-RSS-MB")
	b.ReportMetric(parent, "parent-RSS-MB")
}

// BenchmarkLoad100: 100 children spawned at once, all serving; then each is
// called 1,000 times by 20 concurrent callers (100,000 calls in all), with
// no error allowed. Reports the times and the memory of the parent and all
// children together after the calls (the sum of their PSS).
func BenchmarkLoad100(b *testing.B) {
	bb := benchBus(b)
	ctx := context.Background()
	const n, perService, callersPerService = 100, 1000, 20
	var spawnT, callT time.Duration
	var peak float64
	for range b.N {
		hs := make([]*spawn.Handle, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hs[i], errs[i] = spawn.Run(ctx, bb, NewCounterService, CounterArgs{Step: 1}, quiet, spawn.WithName(fmt.Sprintf("C%03d", i)))
			}()
		}
		wg.Wait()
		spawnT = time.Since(t0)
		for i, err := range errs {
			if err != nil {
				b.Fatalf("child %d: %v", i, err)
			}
		}
		var failed atomic.Int64
		t0 = time.Now()
		for _, h := range hs {
			c, err := controller.Connect(ctx, bb, h.ServiceName())
			if err != nil {
				b.Fatal(err)
			}
			for range callersPerService {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range perService / callersPerService {
						cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						if err := c.Call(cctx, "add", 1, nil); err != nil {
							failed.Add(1)
						}
						cancel()
					}
				}()
			}
		}
		wg.Wait()
		callT = time.Since(t0)
		total := pssMB(os.Getpid())
		for _, h := range hs {
			total += pssMB(h.PID())
		}
		peak = max(peak, total)
		for _, h := range hs {
			var v int
			c, _ := controller.Connect(ctx, bb, h.ServiceName())
			if err := c.Call(ctx, "value", nil, &v); err != nil || v != perService {
				b.Fatalf("%s value = %d, %v; want %d", h.ServiceName(), v, err, perService)
			}
		}
		if failed.Load() > 0 {
			b.Fatalf("%d calls failed", failed.Load())
		}
		for _, h := range hs {
			wg.Add(1)
			go func() { defer wg.Done(); h.Terminate(ctx) }()
		}
		wg.Wait()
	}
	b.ReportMetric(spawnT.Seconds(), "all-serving-s")
	b.ReportMetric(callT.Seconds(), "100k-calls-s")
	b.ReportMetric(peak, "total-PSS-MB")
}

// rawResponderEnv makes the test binary a bare NATS responder: the floor
// that bgkit's figures compare with (see BenchmarkBaselineRawNATS).
const rawResponderEnv = "BGKIT_TEST_RAW_RESPONDER"

func rawResponder(url string) {
	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	nc.Subscribe("raw.echo", func(m *nats.Msg) { m.Respond(m.Data) })
	nc.Flush()
	fmt.Println("READY")
	select {}
}

// startRawResponder runs a plain embedded nats-server and a bare nats.go
// responder process on raw.echo; it returns an in-process connection to
// that server.
func startRawResponder(b *testing.B) *nats.Conn {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		b.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		b.Fatal("server not ready")
	}
	b.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	startRawResponderAt(b, s.ClientURL())
	nc, err := nats.Connect("", nats.InProcessServer(s))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return nc
}

// startRawResponderAt runs a bare nats.go responder process on raw.echo
// of the server at url (with its user info, if any).
func startRawResponderAt(b *testing.B, url string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), rawResponderEnv+"="+url)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 64)
	if k, _ := out.Read(buf); !strings.HasPrefix(string(buf[:k]), "READY") {
		b.Fatalf("responder: %q", buf[:k])
	}
}

// benchRate runs callers goroutines of per calls each and returns calls/s.
func benchRate(b *testing.B, callers, per int, call func() error) float64 {
	var wg sync.WaitGroup
	var failed atomic.Int64
	t0 := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if call() != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d calls failed", failed.Load())
	}
	return float64(callers*per) / time.Since(t0).Seconds()
}

// BenchmarkThroughputVsRawNATS: bgkit's calls/s with 64 callers against a
// bare NATS responder's, in alternating rounds, so that both see the same
// load of a shared machine; the ratio is the median of the rounds' ratios.
// "ratio" compares with plain nats.go and nats-server (an in-process
// connection to a server without users); "ratio-same-bus" with a bare
// responder on bgkit's own bus, called on the bus's connection: what the
// kit's code (controller, service, the child's permissions) costs.
func BenchmarkThroughputVsRawNATS(b *testing.B) {
	raw := startRawResponder(b)
	bb := benchBus(b)
	_, c := benchCounter(b, bb)
	startRawResponderAt(b, bb.Credentials().ShareURL())
	ctx := context.Background()
	const rounds, callers, per = 7, 64, 300
	var kit, bare, same, ratio, ratioSame []float64
	for range b.N {
		for range rounds {
			k := benchRate(b, callers, per, func() error { return c.Call(ctx, "add", 1, nil) })
			r := benchRate(b, callers, per, func() error {
				_, err := raw.Request("raw.echo", []byte("1"), 5*time.Second)
				return err
			})
			s := benchRate(b, callers, per, func() error {
				_, err := bb.Conn().Request("raw.echo", []byte("1"), 5*time.Second)
				return err
			})
			kit, bare, same = append(kit, k), append(bare, r), append(same, s)
			ratio, ratioSame = append(ratio, k/r), append(ratioSame, k/s)
		}
	}
	b.ReportMetric(median(kit), "calls/s")
	b.ReportMetric(median(bare), "raw-calls/s")
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(median(same), "same-bus-raw-calls/s")
	b.ReportMetric(median(ratioSame), "ratio-same-bus")
}

// BenchmarkABChildEnv compares two children of the call benchmarks, one
// with the environment entries of BGKIT_BENCH_AB_ENV ("K=V ...") and one
// without, in alternating rounds of 64 callers: ratio is B's calls/s over
// A's (median of the rounds). It is skipped without BGKIT_BENCH_AB_ENV.
func BenchmarkABChildEnv(b *testing.B) {
	env := strings.Fields(os.Getenv("BGKIT_BENCH_AB_ENV"))
	if len(env) == 0 {
		b.Skip("BGKIT_BENCH_AB_ENV not set")
	}
	bb := benchBus(b)
	ha, ca := benchCounter(b, bb, spawn.WithName("AB_A"))
	hb, cb := benchCounter(b, bb, spawn.WithName("AB_B"), spawn.WithEnv(env...))
	ctx := context.Background()
	const rounds, callers, per = 9, 64, 300
	var ratio, cpu []float64
	for range b.N {
		for range rounds {
			a0 := benchCPU(ha.PID()) + benchCPU(os.Getpid())
			ra := benchRate(b, callers, per, func() error { return ca.Call(ctx, "add", 1, nil) })
			a1 := benchCPU(ha.PID()) + benchCPU(os.Getpid())
			b0 := benchCPU(hb.PID()) + benchCPU(os.Getpid())
			rb := benchRate(b, callers, per, func() error { return cb.Call(ctx, "add", 1, nil) })
			b1 := benchCPU(hb.PID()) + benchCPU(os.Getpid())
			ratio = append(ratio, rb/ra)
			if a1 > a0 {
				cpu = append(cpu, float64(b1-b0)/float64(a1-a0))
			}
		}
	}
	b.ReportMetric(median(ratio), "B/A-calls/s")
	if len(cpu) > 0 {
		b.ReportMetric(median(cpu), "B/A-cpu")
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkBaselineRawNATS measures what this machine gives with no kit
// code: a bare nats.go responder in another process, called from an
// in-process connection to a plain embedded nats-server, like
// BenchmarkCallRoundTrip and BenchmarkCallThroughput.
func BenchmarkBaselineRawNATS(b *testing.B) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		b.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		b.Fatal("server not ready")
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	startRawResponderAt(b, s.ClientURL())
	nc, err := nats.Connect("", nats.InProcessServer(s))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	const n = 20000
	lat := make([]time.Duration, n)
	var rate float64
	for range b.N {
		for i := range n {
			t0 := time.Now()
			if _, err := nc.Request("raw.echo", []byte("1"), time.Second); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(t0)
		}
		const callers, per = 64, 2000
		var wg sync.WaitGroup
		t0 := time.Now()
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range per {
					nc.Request("raw.echo", []byte("1"), 5*time.Second)
				}
			}()
		}
		wg.Wait()
		rate = callers * per / time.Since(t0).Seconds()
	}
	b.ReportMetric(us(percentile(lat, 0.50)), "p50-µs")
	b.ReportMetric(us(percentile(lat, 0.99)), "p99-µs")
	b.ReportMetric(rate, "calls/s")
}
