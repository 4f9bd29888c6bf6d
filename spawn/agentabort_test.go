package spawn

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// Tests of an agent's abort verb and start_timeout (agent.go).

// rawSpawn is a spawn request for kind DelayInitService under lease.
func rawSpawn(t *testing.T, name, lease string, delay, startTimeout time.Duration) []byte {
	t.Helper()
	key, _ := json.Marshal(typeKey(reflect.TypeFor[*DelayInitService]()))
	args, _ := json.Marshal(delayInitArgs{Delay: delay})
	return fmt.Appendf(nil, `{"key":%s,"name":%q,"args":%s,"grace":1000000000,"lease":%q,"start_timeout":%d}`,
		key, name, args, lease, startTimeout)
}

// ask asks subject and returns the error code (0: none) and body.
func ask(t *testing.T, nc *nats.Conn, subject string, data []byte, timeout time.Duration) (int, string) {
	t.Helper()
	m, err := nc.Request(subject, data, timeout)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	if code, msg, failed := bus.ReplyError(m); failed {
		return code, msg
	}
	return 0, string(m.Data)
}

// TestAbortsNotBegunAreBounded: an abort for a start the agent has
// not begun is kept (by lease) for 3 s, so that the spawn, if it comes,
// is refused. Any client of the bus may send aborts with leases it makes
// up: what is kept must have a bound, not grow with the rate of aborts.
func TestAbortsNotBegunAreBounded(t *testing.T) {
	a := &agent{name: "FLOOD", logger: slog.New(slog.DiscardHandler), services: map[string]*agentChild{},
		starting: map[string]*agentStart{}, ended: map[string]endedLease{}, aborted: map[string]time.Time{}}
	const n = 50000
	refused := 0
	for range n {
		if _, err := a.abort(context.Background(), agentTarget{Name: "NEVER", Lease: rand.Text()}); err != nil {
			refused++
		}
	}
	a.mu.Lock()
	kept := len(a.aborted)
	a.mu.Unlock()
	t.Logf("%d aborts with leases made up: %d kept, %d refused", n, kept, refused)
	if kept > maxAbortsKept {
		t.Errorf("%d aborts with made-up leases within 3 s: %d kept, want at most %d", n, kept, maxAbortsKept)
	}
	// A requester's own abort still counts once the flood is over.
	a.mu.Lock()
	long := time.Now().Add(-2 * leaseTTL) // as if leaseTTL had passed
	for lease := range a.aborted {
		a.aborted[lease] = long
	}
	for i := range a.abortOrder {
		a.abortOrder[i].at = long
	}
	a.mu.Unlock()
	if _, err := a.abort(context.Background(), agentTarget{Name: "MINE", Lease: "minelease"}); err != nil {
		t.Errorf("an abort after the flood's entries expired: %v", err)
	}
	a.mu.Lock()
	_, ok := a.aborted["minelease"]
	a.mu.Unlock()
	if !ok {
		t.Error("an abort after the flood's entries expired was not kept")
	}
}

// TestAbortThenRespawn: abort is answered once the agent's child is
// gone; the name can be spawned again at once, under the same lease or
// another. A start not begun is refused under the aborted lease only.
// An abort under another lease than the start's refuses and leaves the
// start alone.
func TestAbortThenRespawn(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "RESPAWN")
	nc := b.Conn()
	const name = "RESPAWNED"
	for _, again := range []string{"samelease", "otherlease"} {
		t.Run(again, func(t *testing.T) {
			answered := make(chan string, 1)
			spawnReq := rawSpawn(t, name, "samelease", time.Minute, time.Minute)
			go func() {
				m, err := nc.Request(agentCall("RESPAWN", "spawn"), spawnReq, 30*time.Second)
				switch _, msg, failed := bus.ReplyError(m); {
				case err != nil:
					answered <- err.Error()
				case failed:
					answered <- "error: " + msg
				default:
					answered <- "served: " + string(m.Data)
				}
			}()
			awaitStarting(t, b, name)
			if code, body := ask(t, nc, agentCall("RESPAWN", "abort"), []byte(`{"name":"`+name+`","lease":"guessed"}`), 5*time.Second); code != 403 {
				t.Errorf("abort under another lease: %d %s, want 403", code, body)
			}
			code, body := ask(t, nc, agentCall("RESPAWN", "abort"), []byte(`{"name":"`+name+`","lease":"samelease"}`), 10*time.Second)
			// The answer says why the start ended: its requester aborted it,
			// not a bare "context canceled".
			if code != 0 || !strings.Contains(body, "aborted by its requester") || strings.Contains(body, "context canceled") {
				t.Errorf("abort: %d %s, want it to say the start was aborted by its requester", code, body)
			}
			if left := childrenNamed(t, name); len(left) > 0 {
				t.Errorf("abort answered while the agent's child runs: %q", left)
			}
			if got := <-answered; !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "aborted by its requester") {
				t.Errorf("the aborted spawn was answered %q, want an error saying it was aborted", got)
			}
			code, body = ask(t, nc, agentCall("RESPAWN", "spawn"), rawSpawn(t, name, again, 0, time.Minute), 30*time.Second)
			if code != 0 {
				t.Fatalf("spawn %s again at once under %s: %d %s", name, again, code, body)
			}
			if code, body := ask(t, nc, agentCall("RESPAWN", "kill"), []byte(`{"name":"`+name+`","lease":"`+again+`"}`), 5*time.Second); code != 0 {
				t.Errorf("kill: %d %s", code, body)
			}
			awaitNoChild(t, name, 5*time.Second)
			awaitNotServed(t, b, name)
		})
	}
	// Aborted before it began: that lease's spawn is refused, another's not.
	if code, body := ask(t, nc, agentCall("RESPAWN", "abort"), []byte(`{"name":"`+name+`","lease":"earlylease"}`), 5*time.Second); code != 0 || body != "{}" {
		t.Errorf("abort of a start not begun: %d %s, want {}", code, body)
	}
	if code, _ := ask(t, nc, agentCall("RESPAWN", "spawn"), rawSpawn(t, name, "earlylease", 0, time.Minute), 30*time.Second); code != 410 {
		t.Errorf("spawn under an aborted lease: %d, want 410", code)
	}
	code, body := ask(t, nc, agentCall("RESPAWN", "spawn"), rawSpawn(t, name, "laterlease", 0, time.Minute), 30*time.Second)
	if code != 0 {
		t.Fatalf("spawn under another lease: %d %s", code, body)
	}
	ask(t, nc, agentCall("RESPAWN", "kill"), []byte(`{"name":"`+name+`","lease":"laterlease"}`), 5*time.Second)
	awaitNoChild(t, name, 5*time.Second)
}

// TestAbortWhileAGivenUpStartStops: a start given up just as it came to
// serve (an abort, or its lease's expiry, then) has its service stopped
// before the spawn is answered. An abort that comes meanwhile is answered
// once that child is gone — the name is free only then — and says how the
// start ended; not {} at once, as for a start the agent has not begun.
func TestAbortWhileAGivenUpStartStops(t *testing.T) {
	b := testBus(t)
	const name = "GIVENUPSTOPS"
	gaveUp := make(chan struct{})
	testHookAgentStarted = func(a *agent, started string) {
		if started != name {
			return
		}
		a.mu.Lock()
		a.starting[name].giveUp(errAbortedStart) // as an abort that comes now
		a.mu.Unlock()
		close(gaveUp)
	}
	t.Cleanup(func() { testHookAgentStarted = nil }) // after the agent is stopped
	serveAgent(t, b, "GIVENUP")
	nc := b.Conn()
	key, _ := json.Marshal(typeKey(reflect.TypeFor[*DelayInitService]()))
	args, _ := json.Marshal(delayInitArgs{StopDelay: time.Second}) // its stop takes a second
	req := fmt.Appendf(nil, `{"key":%s,"name":%q,"args":%s,"grace":5000000000,"lease":"givenuplease","start_timeout":60000000000}`,
		key, name, args)
	answered := make(chan string, 1)
	go func() {
		m, err := nc.Request(agentCall("GIVENUP", "spawn"), req, 30*time.Second)
		switch _, msg, failed := bus.ReplyError(m); {
		case err != nil:
			answered <- err.Error()
		case failed:
			answered <- "error: " + msg
		default:
			answered <- "served: " + string(m.Data)
		}
	}()
	select {
	case <-gaveUp:
	case got := <-answered:
		t.Fatalf("spawn answered %q before its start was given up", got)
	}
	code, body := ask(t, nc, agentCall("GIVENUP", "abort"), []byte(`{"name":"`+name+`","lease":"givenuplease"}`), 10*time.Second)
	if left := childrenNamed(t, name); len(left) > 0 {
		t.Errorf("abort answered %d %s while the given-up start's child still runs: %q", code, body, left)
	}
	if code != 0 || !strings.Contains(body, "aborted by its requester") {
		t.Errorf("abort: %d %s, want it to say the start was aborted", code, body)
	}
	if got := <-answered; !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "aborted by its requester") {
		t.Errorf("the given-up spawn was answered %q, want an error saying it was aborted", got)
	}
	awaitNoChild(t, name, 5*time.Second)
}

// awaitStarting polls until the agent's child of name initializes.
func awaitStarting(t *testing.T, b *bus.Bus, name string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(childrenNamed(t, name)) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no child of %s", name)
		}
	}
}

// awaitNotServed polls until nothing answers for name.
func awaitNotServed(t *testing.T, b *bus.Bus, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); served(context.Background(), b.Conn(), name); {
		if time.Now().After(deadline) {
			t.Fatalf("%s still served", name)
		}
	}
}

// TestAbortRacesTheStart: a requester whose start timeout ends
// about when its start serves either has a service (Run succeeds, the
// service answers) or has none anywhere (Run fails, no child, the name
// free at once); never a service it was told failed, nor an error for
// one that serves.
func TestAbortRacesTheStart(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "RACE")
	const delay = 300 * time.Millisecond
	outcomes := map[bool]int{}
	for i, off := range []time.Duration{-10, -5, 0, 2, 4, 6, 8, 10, 12, 15, 20, 25, 30} {
		name := fmt.Sprintf("RACED%d", i)
		h, err := Run(context.Background(), b, newDelayInit, delayInitArgs{Delay: delay},
			OnAgent("RACE"), WithName(name), WithStartTimeout(delay+off*time.Millisecond),
			WithGrace(2*time.Second), WithLogger(slog.New(slog.DiscardHandler)))
		outcomes[err == nil]++
		t.Logf("start timeout %v: served %v", delay+off*time.Millisecond, err == nil)
		if err == nil {
			if m, cerr := b.Conn().Request("svc."+name+".nop", nil, 5*time.Second); cerr != nil {
				t.Errorf("%s: Run succeeded but the service does not answer: %v", name, cerr)
			} else if _, msg, failed := bus.ReplyError(m); failed {
				t.Errorf("%s: Run succeeded but the service answers %s", name, msg)
			}
			if err := h.Terminate(context.Background()); err != nil {
				t.Errorf("%s: Terminate: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, ErrStart) {
			t.Errorf("%s: %v, want ErrStart", name, err)
		}
		if left := childrenNamed(t, name); len(left) > 0 {
			t.Errorf("%s: Run failed (%v) while the agent's child runs: %q", name, err, left)
		}
		if served(context.Background(), b.Conn(), name) {
			t.Errorf("%s: Run failed (%v) but the service answers", name, err)
		}
		h2, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 9}`), OnAgent("RACE"), WithName(name),
			WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Errorf("%s: spawn again at once: %v", name, err)
			continue
		}
		_ = h2.Terminate(context.Background())
	}
	t.Logf("served %d, given up %d", outcomes[true], outcomes[false])
}

// TestAgentStartTimeoutBounds: a negative start_timeout is
// refused; one of 1 ns gives the start up at once and leaves no child;
// the largest a Duration holds starts as one absent would.
func TestAgentStartTimeoutBounds(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "BOUNDS")
	nc := b.Conn()
	if code, body := ask(t, nc, agentCall("BOUNDS", "spawn"), rawSpawn(t, "NEG", "neglease", 0, -time.Second), 10*time.Second); code != 400 {
		t.Errorf("negative start_timeout: %d %s, want 400", code, body)
	}
	if code, body := ask(t, nc, agentCall("BOUNDS", "spawn"), rawSpawn(t, "TINY", "tinylease", 0, 1), 30*time.Second); code == 0 {
		t.Errorf("start_timeout 1 ns: served (%s)", body)
		ask(t, nc, agentCall("BOUNDS", "kill"), []byte(`{"name":"TINY","lease":"tinylease"}`), 5*time.Second)
	}
	awaitNoChild(t, "TINY", 5*time.Second)
	code, body := ask(t, nc, agentCall("BOUNDS", "spawn"), rawSpawn(t, "HUGE", "hugelease", 0, math.MaxInt64), 30*time.Second)
	if code != 0 {
		t.Fatalf("start_timeout MaxInt64: %d %s", code, body)
	}
	if code, body := ask(t, nc, agentCall("BOUNDS", "kill"), []byte(`{"name":"HUGE","lease":"hugelease"}`), 5*time.Second); code != 0 {
		t.Errorf("kill: %d %s", code, body)
	}
	awaitNoChild(t, "HUGE", 5*time.Second)
}

// TestAgentShutdownDuringStart: an agent stopped while it starts a
// service gives the start up: the requester's Run fails within the
// grace, the agent's child is gone, and ServeAgent returns.
func TestAgentShutdownDuringStart(t *testing.T) {
	b := testBus(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := &readyHandler{msg: "agent ready", ch: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- ServeAgent(ctx, b, "SHUTDOWN", slog.New(ready)) }()
	select {
	case <-ready.ch:
	case err := <-served:
		t.Fatalf("agent ended: %v", err)
	}
	rec := &seen{}
	ran := make(chan error, 1)
	go func() {
		h, err := Run(context.Background(), b, newDelayInit, delayInitArgs{Delay: time.Minute},
			OnAgent("SHUTDOWN"), WithName("SHUT_START"), WithGrace(time.Second), WithLogger(slog.New(rec)))
		if err == nil {
			_ = h.Terminate(context.Background())
		}
		ran <- err
	}()
	<-rec.of("initializing")
	stopped := time.Now()
	cancel()
	select {
	case err := <-ran:
		t.Logf("Run %v after the agent's stop: %v", time.Since(stopped).Round(time.Millisecond), err)
		if err == nil {
			t.Error("Run succeeded on an agent stopped during its start")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return 10 s after its agent stopped")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeAgent: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeAgent did not return")
	}
	awaitNoChild(t, "SHUT_START", time.Second)
}
