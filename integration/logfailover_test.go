package integration

import (
	"context"
	"log/slog"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// TestLogFailover (finding 8): on a 3-node cluster, an agent runs a child
// for a spawner, and a controller on node C keeps the child logging.
// Node A is killed; whoever was connected to it reconnects: the agent and
// its child, the spawner, or all three. No record is lost, neither in the
// spawner's log nor in the agent's (each has a relay), none is held
// waiting for a gap to be given up, and Terminate after the failover is
// prompt.
func TestLogFailover(t *testing.T) {
	for _, tc := range []struct {
		name           string
		agent, spawner int // nodes: 0 is A, killed
	}{
		{"all", 0, 0},
		{"spawner", 1, 0},
		{"agent and child", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) { logfailoverRun(t, tc.agent, tc.spawner) })
	}
}

func logfailoverRun(t *testing.T, agentNode, spawnerNode int) {
	nodes := startCluster(t)
	a, c := nodes[0], nodes[2]
	const agent = "rig-logfailover"
	ag := startAgent(t, nodes[agentNode].url, agent)
	bA, bC := connect(t, nodes[spawnerNode].url), connect(t, c.url)
	ctx := context.Background()

	rec := newRecorder()
	h, err := spawn.Run(ctx, bA, NewCounterService, CounterArgs{Step: 1},
		spawn.OnAgent(agent), spawn.WithName("LOGFAILOVER"), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	terminateAtCleanup(t, h)
	// The service's subscriptions reach node C over the routes a moment
	// after it serves: retry until they have.
	var cc *controller.Controller
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if cc, err = controller.Connect(ctx, bC, "LOGFAILOVER", controller.WithTimeout(5*time.Second)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}

	// Log continuously across the outage: log(n) calls until told to stop.
	const n = 5000
	var (
		mu       sync.Mutex
		okCalls  int
		okAfter  int
		killed   = make(chan struct{})
		stop     = make(chan struct{})
		done     = make(chan struct{})
		twoAfter = make(chan struct{})
	)
	stopLogging := sync.OnceFunc(func() { close(stop); <-done })
	t.Cleanup(stopLogging)
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
			err := cc.Call(cctx, "log", n, nil)
			cancel()
			mu.Lock()
			if err == nil {
				okCalls++
				select {
				case <-killed:
					if okAfter++; okAfter == 2 {
						close(twoAfter)
					}
				default:
				}
			}
			mu.Unlock()
			if err != nil {
				time.Sleep(20 * time.Millisecond) // no responders while the child reconnects
			}
		}
	}()
	// Kill node A in the middle of the second log call.
	runs := 0
	rec.wait(t, 20*time.Second, func(r slog.Record) bool {
		if r.Message != "spam" {
			return false
		}
		i := attrs(r)["i"].Int64()
		if i == 0 {
			runs++
		}
		return runs == 2 && i >= n/10
	})
	a.kill(t)
	close(killed)
	select {
	case <-twoAfter:
	case <-time.After(30 * time.Second):
		t.Fatal("no two log calls completed after the failover")
	}
	stopLogging()
	// A record logged after all the spam is relayed after it: once it is
	// in, every spam record has been relayed or given up for lost.
	t0 := time.Now()
	if err := cc.Call(ctx, "hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	if !logburstAwait(10*time.Second, func() bool {
		for _, r := range rec.all() {
			if r.Message == "hello" {
				return true
			}
		}
		return false
	}) {
		all := rec.all()
		for _, r := range all[max(0, len(all)-8):] {
			t.Logf("record: %v %q %v", r.Level, r.Message, attrs(r))
		}
		t.Logf("spawner's connection: %v to %s, stats %+v", bA.Conn().Status(), bA.Conn().ConnectedUrl(), bA.Conn().Stats())
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Logf("goroutines of the spawner:\n%s", stacks.String())
		t.Fatalf("the record logged after the spam did not arrive within 10 s")
	}
	t.Logf("the record after the spam arrived in %v", time.Since(t0))
	got, lossErr := spamRuns(rec.all(), n)
	mu.Lock()
	calls := okCalls
	mu.Unlock()
	if lossErr != nil {
		t.Errorf("spawner's log: %v", lossErr)
	} else if got < calls {
		t.Errorf("spawner's log: %d complete runs for %d completed log calls", got, calls)
	}
	for _, r := range rec.all() {
		if strings.Contains(r.Message, "lost") || strings.Contains(r.Message, "dropped") {
			t.Errorf("spawner's log: %s %v", r.Message, attrs(r))
		}
	}
	t1 := time.Now()
	if err := h.Terminate(ctx); err != nil {
		t.Errorf("Terminate after failover = %v", err)
	}
	// Held records would make it wait out the gap timer (3 s); 1 s margin.
	if d := time.Since(t1); d > time.Second {
		t.Errorf("Terminate after failover took %v", d)
	}
	if agentNode == 0 {
		// While its bus was down the child wrote its bus logger's records
		// to stderr as JSON; the agent relayed them as the records they were.
		disc := regexp.MustCompile(`^time=\S+ level=WARN msg="bus disconnected" agent=` + agent + ` service=LOGFAILOVER .*err=`)
		if ag.stderr.await(disc, 5*time.Second) == nil {
			t.Errorf("the child's \"bus disconnected\" did not reach the agent's log as a record:\n%s", ag.stderr.tail(40))
		}
		if ag.stderr.contains(`msg="time=`) || ag.stderr.contains(`msg="{`) {
			t.Errorf("a record of the child reached the agent's log as a stderr line:\n%s", ag.stderr.tail(40))
		}
	}
	if ag.stderr.contains("lost in transit") || ag.stderr.contains("records dropped") {
		t.Errorf("the agent's relay lost records:\n%s", ag.stderr.tail(40))
	}
}
