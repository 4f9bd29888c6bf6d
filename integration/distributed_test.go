package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// Distributed rigs: agents on an external NATS deployment (DESIGN.md,
// issue 5). The agents and the requesters whose death is tested are this
// test binary, re-executed with distributedEnv set (see distributedHelper).

// distributedEnv makes the test binary an agent ("agent|URL|NAME") or a
// requester that spawns through an agent and blocks
// ("requester|URL|AGENT|SERVICE"). TestMain calls distributedHelper.
const distributedEnv = "BGKIT_TEST_DISTRIBUTED"

// distributedHelper runs the helper process described by spec and exits.
func distributedHelper(spec string) {
	f := strings.Split(spec, "|")
	code := 2
	switch {
	case f[0] == "agent" && len(f) == 3:
		code = agentProcess(f[1], f[2])
	case f[0] == "requester" && len(f) == 4:
		code = requesterProcess(f[1], f[2], f[3])
	default:
		fmt.Fprintf(os.Stderr, "bad %s spec %q\n", distributedEnv, spec)
	}
	os.Exit(code)
}

// agentProcess serves an agent called name on url until SIGTERM, logging
// (its own records, its bus's and its children's stderr) to stderr.
func agentProcess(url, name string) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	b, err := bus.Connect(ctx, url, bus.WithLogger(logger), bus.WithClientName("agent "+name))
	if err != nil {
		logger.Error("agent connect", "err", err)
		return 1
	}
	defer b.Close()
	if err := spawn.ServeAgent(ctx, b, name, logger); err != nil {
		logger.Error("agent failed", "err", err)
		return 1
	}
	return 0
}

// requesterProcess spawns a Counter called service through agent, prints
// its pid and blocks until it is killed.
func requesterProcess(url, agent, service string) int {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := bus.Connect(ctx, url, bus.WithLogger(logger))
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.OnAgent(agent), spawn.WithName(service), spawn.WithLogger(logger))
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	fmt.Println("PID", h.PID())
	select {}
}

// lineLog collects the lines a helper process writes, for awaiting and
// for failure reports.
type lineLog struct {
	mu    sync.Mutex
	cond  *sync.Cond
	lines []string
	eof   bool
}

func newLineLog() *lineLog {
	l := &lineLog{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *lineLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
		l.cond.Broadcast()
	}
	l.mu.Lock()
	l.eof = true
	l.mu.Unlock()
	l.cond.Broadcast()
}

// await waits for a line matching re and returns its submatches; nil if
// the stream ended or timeout passed first.
func (l *lineLog) await(re *regexp.Regexp, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, l.cond.Broadcast)
	defer stop.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; ; {
		for ; i < len(l.lines); i++ {
			if m := re.FindStringSubmatch(l.lines[i]); m != nil {
				return m
			}
		}
		if l.eof || time.Now().After(deadline) {
			return nil
		}
		l.cond.Wait()
	}
}

func (l *lineLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// tail returns the last n lines, leaving out the children's bulk records.
func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i := len(l.lines) - 1; i >= 0 && len(out) < n; i-- {
		if !strings.Contains(l.lines[i], "msg=spam ") && !strings.Contains(l.lines[i], "msg=bye ") {
			out = append(out, l.lines[i])
		}
	}
	slices.Reverse(out)
	return strings.Join(out, "\n")
}

// proc is a process started by a test: a nats-server, an agent or a
// requester. It is stopped and reaped at cleanup.
type proc struct {
	name    string
	cmd     *exec.Cmd
	stdout  *lineLog
	stderr  *lineLog
	exited  chan struct{} // closed when reaped
	waitErr error
	termed  bool // cleanup sent SIGTERM and expects a clean exit
}

// startProc starts cmd and registers its cleanup: SIGTERM, then SIGKILL
// after 10 s, and a report of its stderr if the test failed or the
// race detector spoke.
func startProc(t *testing.T, name string, cmd *exec.Cmd, wantCleanExit bool) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, stdout: newLineLog(), stderr: newLineLog(), exited: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var reads sync.WaitGroup
	reads.Add(2)
	go func() { defer reads.Done(); p.stdout.read(out) }()
	go func() { defer reads.Done(); p.stderr.read(errp) }()
	go func() {
		reads.Wait() // Wait closes the pipes: read them to the end first
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
				if wantCleanExit && p.waitErr != nil {
					t.Errorf("%s exited with %v after SIGTERM", name, p.waitErr)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s still running 10 s after SIGTERM", name)
				_ = cmd.Process.Kill()
				<-p.exited
			}
		}
		if p.stderr.contains("DATA RACE") {
			t.Errorf("%s: the race detector reported a race:\n%s", name, p.stderr.tail(200))
		} else if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", name, p.stderr.tail(40))
		}
	})
	return p
}

// kill SIGKILLs the process and waits until it is reaped.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not reaped 5 s after SIGKILL", p.name)
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// helperEnv is the environment of a re-executed test binary.
func helperEnv(spec string) []string {
	env := append(os.Environ(), distributedEnv+"="+spec)
	if os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return env
}

var agentReadyRE = regexp.MustCompile(`msg="agent ready"`)

// startAgent runs an agent called name connected to url (only: the
// client learns the other cluster nodes from the server).
func startAgent(t *testing.T, url, name string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = helperEnv("agent|" + url + "|" + name)
	p := startProc(t, "agent "+name, cmd, true)
	if p.stderr.await(agentReadyRE, 15*time.Second) == nil {
		t.Fatalf("agent %s not ready:\n%s", name, p.stderr.tail(40))
	}
	return p
}

var (
	clientListenRE = regexp.MustCompile(`Listening for client connections on (127\.0\.0\.1:\d+)`)
	routeListenRE  = regexp.MustCompile(`Listening for route connections on (127\.0\.0\.1:\d+)`)
)

// natsNode is one nats-server of a test cluster.
type natsNode struct {
	*proc
	url   string // client URL
	route string // cluster URL
}

// startNode runs a nats-server called name on 127.0.0.1 with random
// client and cluster ports, soliciting routes (may be empty).
func startNode(t *testing.T, name, routes string) *natsNode {
	t.Helper()
	args := []string{"-a", "127.0.0.1", "-p", "-1", "-n", name,
		"--cluster_name", "bgkit-test", "--cluster", "nats://127.0.0.1:-1"}
	if routes != "" {
		args = append(args, "--routes", routes)
	}
	p := startProc(t, "nats-server "+name, exec.Command(tool(t, "nats-server"), args...), false)
	n := &natsNode{proc: p}
	for _, w := range []struct {
		re  *regexp.Regexp
		dst *string
	}{{clientListenRE, &n.url}, {routeListenRE, &n.route}} {
		m := p.stderr.await(w.re, 10*time.Second)
		if m == nil {
			t.Fatalf("nats-server %s: no %q in its log:\n%s", name, w.re, p.stderr.tail(20))
		}
		*w.dst = "nats://" + m[1]
	}
	return n
}

// startCluster runs three routed nats-servers and returns once a message
// published on any node reaches a subscriber on every other node.
func startCluster(t *testing.T) []*natsNode {
	t.Helper()
	a := startNode(t, "A", "")
	b := startNode(t, "B", a.route)
	c := startNode(t, "C", a.route+","+b.route)
	nodes := []*natsNode{a, b, c}
	conns := make([]*nats.Conn, len(nodes))
	for i, n := range nodes {
		nc, err := nats.Connect(n.url, nats.NoReconnect())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		conns[i] = nc
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := range nodes {
		for j := range nodes {
			if i == j {
				continue
			}
			subj := fmt.Sprintf("probe.%d.%d", i, j)
			sub, err := conns[j].SubscribeSync(subj)
			if err != nil {
				t.Fatal(err)
			}
			// Interest travels over the route: publish until it has.
			tick := time.NewTicker(20 * time.Millisecond)
			for got := false; !got; {
				if time.Now().After(deadline) {
					t.Fatalf("cluster not meshed after 10 s: %s → %s", nodes[i].name, nodes[j].name)
				}
				_ = conns[i].Publish(subj, nil)
				<-tick.C
				_, err := sub.NextMsg(0)
				got = err == nil
			}
			tick.Stop()
			_ = sub.Unsubscribe()
		}
	}
	return nodes
}

// connect joins url and closes the bus at cleanup.
func connect(t *testing.T, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(context.Background(), url, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// terminateAtCleanup stops h at cleanup (before the buses close).
func terminateAtCleanup(t *testing.T, h *spawn.Handle) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Terminate(ctx)
	})
}

// srvMetadata returns the $SRV.INFO metadata of service name.
func srvMetadata(t *testing.T, b *bus.Bus, name string) map[string]string {
	t.Helper()
	m, err := b.Conn().Request("$SRV.INFO."+name, nil, 2*time.Second)
	if err != nil {
		t.Fatalf("$SRV.INFO.%s: %v", name, err)
	}
	var info struct {
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(m.Data, &info); err != nil {
		t.Fatalf("$SRV.INFO.%s: %v: %s", name, err, m.Data)
	}
	return info.Metadata
}

// spamRuns checks the "spam" records (Counter.log) in the order relayed:
// each log(n) call gives a run i = 0..n-1. It returns the number of runs,
// or an error naming the first missing or out-of-order record.
func spamRuns(recs []slog.Record, n int) (int, error) {
	runs, next := 0, 0
	for _, r := range recs {
		if r.Message != "spam" {
			continue
		}
		i := int(attrs(r)["i"].Int64())
		switch {
		case i == 0 && next != 0 && next != n:
			return runs, fmt.Errorf("run %d ended at i=%d of %d: records %d..%d lost", runs, next-1, n, next, n-1)
		case i == 0:
			runs++
			next = 1
		case next == n:
			return runs, fmt.Errorf("run %d started at i=%d: records 0..%d lost", runs+1, i, i-1)
		case i != next:
			return runs, fmt.Errorf("run %d: i=%d followed i=%d: records lost or out of order", runs, i, next-1)
		default:
			next++
		}
	}
	if next != 0 && next != n {
		return runs, fmt.Errorf("last run ended at i=%d of %d", next-1, n)
	}
	return runs, nil
}

// TestClusterAgentFailover: on a 3-node cluster, an agent on node A runs a
// Counter for a test on node B, called from node C. Killing node A's
// server makes the agent and the child reconnect: calls from C resume
// within 2 s and no log record is lost, also for the log call in progress
// when the server died.
func TestClusterAgentFailover(t *testing.T) {
	nodes := startCluster(t)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const agent = "rig-a"
	ag := startAgent(t, a.url, agent)
	bB, bC := connect(t, b.url), connect(t, c.url)
	ctx := context.Background()

	rec := newRecorder()
	h, err := spawn.Run(ctx, bB, NewCounterService, CounterArgs{Step: 1},
		spawn.OnAgent(agent), spawn.WithName("DIST_COUNTER"), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, h)
	cc, err := controller.Connect(ctx, bC, "DIST_COUNTER", controller.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cnt := CounterController{cc}
	if v, err := cnt.Add(ctx, 1); err != nil || v != 1 {
		t.Fatalf("add from node C = %d, %v", v, err)
	}
	// What `bgkit ls` shows: the host and pid of the service.
	host, _ := os.Hostname()
	md := srvMetadata(t, bC, "DIST_COUNTER")
	if md["host"] == "" || md["host"] != host || md["pid"] != strconv.Itoa(h.PID()) {
		t.Errorf("$SRV.INFO metadata = %v, want host %q and pid %d", md, host, h.PID())
	}

	// Log continuously from node C across the outage: sequential log(n)
	// calls until told to stop after the failover.
	const n = 10000
	var (
		logMu      sync.Mutex
		logOK      int
		logErrs    []error
		okAfter    = make(chan struct{}, 16) // a log call completed after the kill
		killed     = make(chan struct{})
		stopLogs   = make(chan struct{})
		logsDone   = make(chan struct{})
		seenAtKill int
	)
	stopLogging := sync.OnceFunc(func() { close(stopLogs); <-logsDone })
	t.Cleanup(stopLogging)
	go func() {
		defer close(logsDone)
		for {
			select {
			case <-stopLogs:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
			err := cc.Call(cctx, "log", n, nil)
			cancel()
			logMu.Lock()
			if err == nil {
				logOK++
			} else {
				logErrs = append(logErrs, err)
			}
			logMu.Unlock()
			select {
			case <-killed:
				if err == nil {
					select {
					case okAfter <- struct{}{}:
					default:
					}
				}
			default:
			}
			if err != nil {
				// No responders while the child reconnects: do not spin.
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	// Kill node A in the middle of the second log call (the relay lags
	// the child: the kill lands later in the call).
	var lossErr error
	spam, runs := 0, 0
	rec.wait(t, 20*time.Second, func(r slog.Record) bool {
		if r.Message != "spam" {
			return false
		}
		spam++
		i := attrs(r)["i"].Int64()
		if i == 0 {
			runs++
		}
		return runs == 2 && i >= n/10
	})
	seenAtKill = spam
	a.kill(t)
	killedAt := time.Now()
	close(killed)

	// Calls from C resume within 2 s.
	var resumed time.Duration
	tick := time.NewTicker(10 * time.Millisecond)
	for {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := cnt.Add(cctx, 1)
		cancel()
		if err == nil {
			resumed = time.Since(killedAt)
			break
		}
		if time.Since(killedAt) > 10*time.Second {
			t.Fatalf("calls from node C still fail 10 s after node A died: %v", err)
		}
		<-tick.C
	}
	tick.Stop()
	t.Logf("calls resumed %v after node A was killed (%d spam records relayed at the kill)", resumed, seenAtKill)
	if resumed > 2*time.Second {
		t.Errorf("calls resumed %v after node A was killed, want within 2 s", resumed)
	}
	if v, err := cnt.Value(ctx); err != nil || v < 2 {
		t.Errorf("value after failover = %d, %v: the service lost its state", v, err)
	}
	// Both the agent and its child reconnected (their bus loggers say so;
	// the child's stderr reaches the agent's log).
	if ag.stderr.await(regexp.MustCompile(`^time=\S+ level=INFO msg="bus reconnected"`), 5*time.Second) == nil {
		t.Errorf("the agent did not report a reconnect")
	}
	if ag.stderr.await(regexp.MustCompile(`bus reconnected.*agent=`+agent+`.*service=DIST_COUNTER`), 5*time.Second) == nil {
		t.Errorf("the child did not report a reconnect")
	}

	// Two more log calls complete after the failover, then stop logging.
	for range 2 {
		select {
		case <-okAfter:
		case <-time.After(15 * time.Second):
			stopLogging()
			t.Fatalf("no log call completed after the failover; errors: %v", logErrs)
		}
	}
	stopLogging()
	// A record logged after all the spam arrives after it (one connection,
	// one route): once it is in, every spam record that will arrive has.
	if err := cc.Call(ctx, "hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 10*time.Second, msgIs("hello"))
	runs, lossErr = spamRuns(rec.all(), n)
	logMu.Lock()
	t.Logf("%d log calls completed, %d failed (%v); %d runs of %d records relayed", logOK, len(logErrs), logErrs, runs, n)
	if lossErr == nil && runs < logOK {
		t.Errorf("%d complete runs of log records for %d completed log calls", runs, logOK)
	}
	logMu.Unlock()

	// The service still has its identity, and the lease held through the outage.
	md = srvMetadata(t, bC, "DIST_COUNTER")
	if md["host"] == "" || md["pid"] != strconv.Itoa(h.PID()) {
		t.Errorf("$SRV.INFO metadata after failover = %v, want host and pid %d", md, h.PID())
	}
	if err := h.Terminate(ctx); err != nil {
		t.Errorf("Terminate after failover = %v", err)
	}
	if !awaitExit(t, h.PID(), time.Second) {
		t.Errorf("child %d still alive after Terminate", h.PID())
	}
	if lossErr != nil {
		t.Errorf("log records lost across the reconnect: %v", lossErr)
	}
}

// TestAgentLeaseExpires: a requester SIGKILLed after spawning through an
// agent gets its service stopped by the agent once its lease expires.
func TestAgentLeaseExpires(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-lease"
	startAgent(t, url, agent)
	b := connect(t, url)
	exits, err := b.Conn().SubscribeSync("bgkit.agent." + agent + ".exit.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = helperEnv("requester|" + url + "|" + agent + "|LEASED")
	req := startProc(t, "requester", cmd, false)
	m := req.stdout.await(regexp.MustCompile(`^(PID|ERR) (.*)`), 20*time.Second)
	if m == nil || m[1] != "PID" {
		t.Fatalf("requester: %v\n%s", m, req.stderr.tail(20))
	}
	pid, _ := strconv.Atoi(m[2])
	c, err := controller.Connect(context.Background(), b, "LEASED")
	if err != nil {
		t.Fatal(err)
	}
	req.kill(t)
	killedAt := time.Now()
	// The service outlives its requester until the lease expires.
	if err := c.Call(context.Background(), "value", nil, nil); err != nil {
		t.Fatalf("service gone right after its requester died: %v", err)
	}
	msg, err := exits.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no exit event within 10 s of the requester's death: %v", err)
	}
	took := time.Since(killedAt)
	var ev struct {
		OK  bool `json:"ok"`
		PID int  `json:"pid"`
	}
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatalf("exit event %s: %v", msg.Data, err)
	}
	t.Logf("service stopped %v after its requester was killed: %s", took, msg.Data)
	if !ev.OK || ev.PID != pid {
		t.Errorf("exit event = %s, want a clean exit of pid %d", msg.Data, pid)
	}
	// Renewed every 0.5 s, expired after 3 s, checked every 0.5 s.
	if took < 2*time.Second || took > 6*time.Second {
		t.Errorf("stopped %v after the requester died, want about 3–4 s (the lease)", took)
	}
	if !awaitExit(t, pid, time.Second) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d alive after its exit event", pid)
	}
	if err := c.Call(context.Background(), "value", nil, nil); !errors.Is(err, controller.ErrNoService) {
		t.Errorf("call after lease expiry = %v, want ErrNoService", err)
	}
}

// TestAgentDeathStopsChildren: an agent SIGKILLed takes its children with
// it, and the requester's handle reports ErrAgentLost.
func TestAgentDeathStopsChildren(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-dies"
	ag := startAgent(t, url, agent)
	b := connect(t, url)
	h, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Step: 1},
		spawn.OnAgent(agent), spawn.WithName("ORPHAN"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, h)
	pid := h.PID()
	ag.kill(t)
	killedAt := time.Now()
	if !awaitExit(t, pid, time.Second) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("child %d alive 1 s after its agent was killed", pid)
	}
	select {
	case <-h.Done():
	case <-time.After(6 * time.Second):
		t.Fatalf("Done not closed 6 s after the agent died")
	}
	t.Logf("handle done %v after the agent was killed: %v", time.Since(killedAt), h.Err())
	if !errors.Is(h.Err(), spawn.ErrAgentLost) {
		t.Errorf("Err = %v, want ErrAgentLost", h.Err())
	}
	if took := time.Since(killedAt); took < 2*time.Second {
		t.Errorf("agent declared lost after %v, before its lease could expire", took)
	}
}

// TestAgentRestartedUnderHandle: an agent SIGKILLed and restarted under
// the same name does not run the old service; the handle must still learn
// that its service is gone.
func TestAgentRestartedUnderHandle(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-restarts"
	ag := startAgent(t, url, agent)
	b := connect(t, url)
	h, err := spawn.Run(context.Background(), b, NewCounterService, CounterArgs{Step: 1},
		spawn.OnAgent(agent), spawn.WithName("FORGOTTEN"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, h)
	pid := h.PID()
	ag.kill(t)
	if !awaitExit(t, pid, time.Second) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d alive 1 s after its agent was killed", pid)
	}
	startAgent(t, url, agent)
	select {
	case <-h.Done():
		t.Logf("Err = %v", h.Err())
		if h.Err() == nil {
			t.Error("Err = nil for a service that died with its agent")
		}
	case <-time.After(5 * time.Second):
		// (Was a bug: the new agent answered lease renewals for leases it
		// never granted, so Done never closed.)
		msg := "handle not done 5 s after its agent was replaced: the new agent renews leases it does not hold"
		// Terminate must still return once its ctx ends.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		returned := make(chan error, 1)
		go func() { returned <- h.Terminate(ctx) }()
		select {
		case err := <-returned:
			t.Logf("Terminate with a 1 s ctx = %v", err)
		case <-time.After(3 * time.Second):
			// It returns at cleanup, when the new agent is gone.
			msg += "; and Terminate(ctx) did not return 2 s after its ctx ended"
		}
		t.Error(msg)
	}
}

// localOnlyService is registered in the test process only (not in the
// agents it starts): a kind the requester knows and the agent does not,
// as with a newer binary on the laptop than on the rig.
type localOnlyService struct{}

func newLocalOnlyService(struct{}) (*localOnlyService, error)  { return &localOnlyService{}, nil }
func (*localOnlyService) Initialize(ctx context.Context) error { return nil }
func (*localOnlyService) Shutdown(ctx context.Context) error   { return nil }

var registerLocalOnly = sync.OnceFunc(func() { spawn.RegisterKind("local-only", newLocalOnlyService) })

// TestAgentRefusesUnknownKinds: an agent spawns only kinds registered in
// its own binary; a name nobody serves gives ErrNoAgent at once.
func TestAgentRefusesUnknownKinds(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-kinds"
	startAgent(t, url, agent)
	b := connect(t, url)
	ctx := context.Background()
	registerLocalOnly()

	_, err := spawn.RunKind(ctx, b, "local-only", nil, spawn.OnAgent(agent))
	if !errors.Is(err, spawn.ErrStart) || !strings.Contains(err.Error(), `"local-only"`) {
		t.Errorf("RunKind of a kind the agent lacks = %v, want ErrStart naming the kind", err)
	}
	// On the wire: 404, naming the kind and listing the known ones; never a command.
	for _, tc := range []struct {
		name, req, code, want string
	}{
		{"unknown kind", `{"kind":"no-such-kind","name":"X","lease":"L1"}`, "404", `"no-such-kind"`},
		{"command", `{"kind":"/bin/sh","name":"X","args":["-c","true"],"lease":"L1"}`, "404", "counter"},
		{"no lease", `{"kind":"counter","name":"X","args":{"step":1}}`, "400", "lease"},
		{"bad JSON", `{"kind":`, "400", "bad argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := b.Conn().Request(bus.AgentSubject(agent, "spawn"), []byte(tc.req), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if code := m.Header.Get("Nats-Service-Error-Code"); code != tc.code {
				t.Errorf("code = %q, want %s (reply %s, headers %v)", code, tc.code, m.Data, m.Header)
			}
			if e := m.Header.Get("Nats-Service-Error"); !strings.Contains(e, tc.want) {
				t.Errorf("error %q lacks %q", e, tc.want)
			}
		})
	}
	start := time.Now()
	_, err = spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, spawn.OnAgent("nobody-here"))
	if !errors.Is(err, spawn.ErrNoAgent) {
		t.Errorf("spawn on an absent agent = %v, want ErrNoAgent", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("ErrNoAgent after %v, want at once", took)
	}
}

// TestAgentTerminate: Terminate through an agent returns nil for a clean
// stop, after every record the child logged while shutting down.
func TestAgentTerminate(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-term"
	startAgent(t, url, agent)
	b := connect(t, url)
	ctx := context.Background()
	rec := newRecorder()
	const bye = 1000
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1, ShutdownLogs: bye},
		spawn.OnAgent(agent), spawn.WithName("BYE"), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, h)
	if err := h.Terminate(ctx); err != nil {
		t.Fatalf("Terminate = %v, want nil", err)
	}
	next := 0
	for _, r := range rec.all() {
		if r.Message != "bye" {
			continue
		}
		if i := int(attrs(r)["i"].Int64()); i != next {
			t.Fatalf("bye record i=%d where i=%d was due", i, next)
		}
		if a := attrs(r); a["agent"].String() != agent || a["service"].String() != "BYE" {
			t.Fatalf("bye record attrs = %v, want agent and service", a)
		}
		next++
	}
	if next != bye {
		t.Errorf("%d bye records relayed when Terminate returned, want %d", next, bye)
	}
	if !awaitExit(t, h.PID(), time.Second) {
		t.Errorf("child %d alive after Terminate", h.PID())
	}
	select {
	case <-h.Done():
	default:
		t.Error("Done not closed when Terminate returned")
	}
}
