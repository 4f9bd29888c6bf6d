package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// Tests that break things on purpose: a child killed under load, its
// connection cut, its parent killed, a Shutdown that does not return, and
// garbage on every subject the kit listens on.

// TestFaultKillDuringConcurrentCalls: a child SIGKILLed while 1,000 calls
// are in flight gives every caller an answer or an error by its deadline.
func TestFaultKillDuringConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, rec := spawnRecorded(t, b)
	t.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}

	const (
		callers = 1000
		budget  = 3 * time.Second
		slack   = 500 * time.Millisecond
		slowMs  = 2000 // a slow call outlives the kill by far
	)
	type outcome struct {
		slow bool
		err  error
		late time.Duration // end minus the call's deadline
	}
	outcomes := make([]outcome, callers)
	var (
		ready, done sync.WaitGroup
		fire        = make(chan struct{})
		answered    atomic.Int64
		enough      = make(chan struct{})
	)
	for i := range callers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			slow := i%4 != 0
			ready.Done()
			<-fire
			cctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			dl, _ := cctx.Deadline()
			var err error
			if slow {
				err = c.Call(cctx, "sleep", slowMs, nil)
			} else {
				err = c.Call(cctx, "add", 1, nil)
			}
			outcomes[i] = outcome{slow: slow, err: err, late: time.Since(dl)}
			if !slow && err == nil && answered.Add(1) == 50 {
				close(enough)
			}
		}()
	}
	ready.Wait()
	fired := time.Now()
	close(fire)
	// Kill once the child is demonstrably answering: the slow calls sent
	// with the fast ones are in flight then.
	select {
	case <-enough:
	case <-time.After(budget):
		done.Wait()
		t.Fatalf("fewer than 50 fast calls answered within %v", budget)
	}
	if err := syscall.Kill(h.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAfter := time.Since(fired)
	done.Wait()

	dist := map[string]int{}
	var worst time.Duration
	for i, o := range outcomes {
		worst = max(worst, o.late)
		if o.late > slack {
			t.Errorf("call %d returned %v after its deadline (%v)", i, o.late, o.err)
		}
		kind := "slow"
		if !o.slow {
			kind = "fast"
		}
		switch {
		case o.err == nil:
			dist[kind+" ok"]++
			if o.slow && killedAfter < slowMs*time.Millisecond {
				t.Errorf("call %d: a %d ms call succeeded though the child was killed after %v", i, slowMs, killedAfter)
			}
		case errors.Is(o.err, controller.ErrServiceExited): // before ErrNoService, which it also matches
			dist[kind+" exited"]++
		case errors.Is(o.err, controller.ErrNoService):
			dist[kind+" no service"]++
		case errors.Is(o.err, context.DeadlineExceeded):
			dist[kind+" deadline"]++
		case errors.Is(o.err, nats.ErrTimeout):
			dist[kind+" nats timeout"]++
		default:
			dist[kind+" other"]++
			t.Errorf("call %d: unexpected error %v", i, o.err)
		}
	}
	t.Logf("killed %v after firing %d calls; outcomes %v; latest return %v after its deadline",
		killedAfter, callers, dist, worst)
	if dist["fast ok"] < 50 {
		t.Errorf("only %d fast calls succeeded", dist["fast ok"])
	}
	if dist["slow ok"] == callers*3/4 {
		t.Error("no slow call failed: the kill did not hit calls in flight")
	}

	select {
	case <-h.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5 s after SIGKILL")
	}
	var ee *spawn.ExitError
	if !errors.As(h.Err(), &ee) || ee.Signal != "SIGKILL" || ee.Killed {
		t.Fatalf("Err = %#v, want an ExitError for an outside SIGKILL", h.Err())
	}
	rec.wait(t, time.Second, func(r slog.Record) bool {
		return r.Message == "service exited unexpectedly" && r.Level == slog.LevelError
	})
	// A call after the death fails at once, not after its deadline.
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if err := c.Call(cctx, "value", nil, nil); !errors.Is(err, controller.ErrNoService) {
		t.Errorf("call after the kill = %v, want ErrNoService", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("call after the kill took %v", took)
	}
}

// TestFaultDropConnection: a child whose connection the embedded server
// drops exits (taking its grandchild with it) instead of lingering, and
// the parent reports it.
func TestFaultDropConnection(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, rec := spawnRecorded(t, b)
	t.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	var gc int
	if err := c.Call(ctx, "grandchild", nil, &gc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(gc, syscall.SIGKILL) })

	start := time.Now()
	b.Revoke(h.ServiceName()) // closes the child's connection on the server
	select {
	case <-h.Done():
	case <-time.After(2 * time.Second):
		t.Fatalf("child %d still running 2 s after its connection was dropped", h.PID())
	}
	t.Logf("child exited %v after its connection was dropped: %v", time.Since(start), h.Err())
	if h.Err() == nil {
		t.Error("Err = nil: a child that lost its bus exited as if terminated")
	}
	if !awaitExit(t, gc, time.Second) {
		t.Errorf("grandchild %d alive after its service lost the bus", gc)
	}
	rec.wait(t, time.Second, func(r slog.Record) bool {
		return r.Message == "service exited unexpectedly" && r.Level == slog.LevelError
	})
	// The child said why, on stderr (its log subject went with the bus).
	rec.wait(t, time.Second, func(r slog.Record) bool {
		return strings.Contains(r.Message, "bus connection closed")
	})
	// The name is free: a new instance serves.
	h2, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1}, spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatalf("respawn after the drop: %v", err)
	}
	defer h2.Terminate(ctx)
	if v, err := (CounterController{c}).Add(ctx, 2); err != nil || v != 2 {
		t.Fatalf("add on the new instance = %d, %v", v, err)
	}
}

// TestFaultParentKillRepeated: a parent SIGKILLed with 20 children, each
// with a grandchild, leaves none of them alive after 1 s, 20 times over
// (3 times with -short).
func TestFaultParentKillRepeated(t *testing.T) {
	const children = 20
	rounds := 20
	if testing.Short() {
		rounds = 3
	}
	start := time.Now()
	var slowest time.Duration
	for i := range rounds {
		ok := t.Run(fmt.Sprint("round ", i), func(t *testing.T) {
			pids := runAndKillHelperParent(t, children)
			killed := time.Now()
			deadline := killed.Add(time.Second)
			for _, pid := range pids {
				if !awaitExit(t, pid, time.Until(deadline)) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("process %d alive 1 s after its parent was killed", pid)
				}
			}
			slowest = max(slowest, time.Since(killed))
		})
		if !ok {
			break
		}
	}
	t.Logf("%d rounds of %d children and %d grandchildren in %v; all gone at most %v after the kill",
		rounds, children, children, time.Since(start), slowest)
}

// TestFaultShutdownBlocksKilledAtGrace: a child that does not finish
// stopping within the grace period is killed then.
func TestFaultShutdownBlocksKilledAtGrace(t *testing.T) {
	const grace = 300 * time.Millisecond
	const slack = time.Second
	for _, tc := range []struct {
		name string
		// block adds a call in flight that ignores its ctx: it holds the
		// drain for the whole budget, which Shutdown shares, so the child
		// still exits (without that call's answer) before the kill.
		block      bool
		wantKilled bool
	}{
		{name: "Shutdown waits for its ctx", block: false},
		{name: "call in flight ignores its ctx and Shutdown blocks", block: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b := bgkittest.Bus(t)
			rec := newRecorder()
			h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1, ShutdownWait: 60000},
				spawn.WithGrace(grace), spawn.WithLogger(slog.New(rec)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Kill(-h.PID(), syscall.SIGKILL) })
			c, err := controller.Connect(ctx, b, h.ServiceName())
			if err != nil {
				t.Fatal(err)
			}
			if tc.block {
				// No reply subject, no deadline: the call hangs a minute,
				// whatever its ctx says.
				if err := b.Conn().Publish("svc.COUNTER_SERVICE.hang", []byte("60000")); err != nil {
					t.Fatal(err)
				}
				// Calls from one connection reach the service in order:
				// once value answers, sleep is running.
				if err := c.Call(ctx, "value", nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			err = h.Terminate(ctx)
			took := time.Since(start)
			t.Logf("Terminate took %v: %v", took, err)
			if took > grace+slack {
				t.Errorf("Terminate took %v, want about the grace period %v", took, grace)
			}
			var ee *spawn.ExitError
			switch {
			case tc.wantKilled:
				if !errors.As(err, &ee) || !ee.Killed || ee.Signal != "SIGKILL" {
					t.Fatalf("Terminate = %v, want an ExitError killed after the grace period", err)
				}
				if took < grace {
					t.Errorf("killed after %v, before the grace period", took)
				}
			case err != nil:
				// Shutdown's ctx ends with the grace period too: the
				// child may exit on its own just before the kill.
				if !errors.As(err, &ee) || !ee.Killed {
					t.Fatalf("Terminate = %v, want nil or killed after the grace period", err)
				}
				rec.wait(t, time.Second, msgIs("shutdown started"))
			default:
				rec.wait(t, time.Second, msgIs("shutdown started"))
			}
			if !awaitExit(t, h.PID(), time.Second) {
				t.Errorf("child %d alive after Terminate returned", h.PID())
			}
			if ee != nil && strings.Contains(ee.StderrTail, "DATA RACE") {
				// Under -race the child would report a race in service.Run's
				// drain (fixed; see service.TestDrainRace).
				t.Errorf("the child's race detector reported a race at shutdown:\n%s", ee.StderrTail)
			}
		})
	}
}

// TestBadInput sends garbage to every subject a running service listens on
// (its methods, the NATS micro monitoring subjects, its log subject); the
// service keeps serving and answers with the right codes.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, rec := spawnRecorded(t, b)
	t.Cleanup(func() { h.Terminate(ctx) })
	nc := b.Conn()
	limit := int(nc.MaxPayload())
	rng := rand.New(rand.NewPCG(5, 5))
	random := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		if json.Valid(p) {
			p[0] = '{' // never valid by chance
		}
		return p
	}
	filled := func(n int, head, fill, tail string) []byte {
		return []byte(head + strings.Repeat(fill, n-len(head)-len(tail)) + tail)
	}

	t.Run("methods", func(t *testing.T) {
		want := 0 // the counter's value
		for _, tc := range []struct {
			name   string
			method string
			data   []byte
			header nats.Header
			code   int
			add    int // for a successful add: the steps added
		}{
			{name: "random bytes to add", method: "add", data: random(1024), code: 400},
			{name: "random bytes to value", method: "value", data: random(64), code: 400},
			{name: "random bytes to fail", method: "fail", data: random(64), code: 400},
			{name: "random bytes to exit", method: "exit", data: random(64), code: 400},
			{name: "random bytes to an unknown method", method: "nope", data: random(1024), code: 404},
			{name: "string for int", method: "add", data: []byte(`"five"`), code: 400},
			{name: "numeric string for int", method: "exit", data: []byte(`"0"`), code: 400},
			{name: "float for int", method: "exit", data: []byte(`0.5`), code: 400},
			{name: "array for int", method: "add", data: []byte(`[1]`), code: 400},
			{name: "object for int", method: "add", data: []byte(`{"n":1}`), code: 400},
			{name: "bool for int", method: "add", data: []byte(`true`), code: 400},
			{name: "int overflow", method: "add", data: []byte(`99999999999999999999`), code: 400},
			{name: "float overflow", method: "add", data: []byte(`1e400`), code: 400},
			{name: "two values", method: "add", data: []byte(`5 6`), code: 400},
			{name: "truncated JSON", method: "add", data: []byte(`{"n":`), code: 400},
			{name: "invalid UTF-8", method: "add", data: []byte("\"\xff\xfe\""), code: 400},
			{name: "int for string", method: "fail", data: []byte(`5`), code: 400},
			{name: "object for string", method: "fail", data: []byte(`{}`), code: 400},
			{name: "argument to a method without one", method: "value", data: []byte(`5`), code: 400},
			{name: "missing argument", method: "add", data: nil, code: 400},
			{name: "deep nesting", method: "add", data: filled(100000, "", "[", ""), code: 400},
			{name: "unknown method", method: "nope", code: 404},
			{name: "method in another case", method: "Add", data: []byte(`1`), code: 404},
			{name: "extra subject token", method: "add.more", data: []byte(`1`), code: 404},
			{name: "long method name", method: strings.Repeat("m", 2000), code: 404},
			{name: "garbage timeout header", method: "add", data: []byte(`1`),
				header: nats.Header{service.TimeoutHeader: {"soon"}}, add: 1},
			{name: "negative timeout header", method: "add", data: []byte(`1`),
				header: nats.Header{service.TimeoutHeader: {"-5"}}, add: 1},
			{name: "timeout prefix", method: "add", data: []byte("\x1e5000\n1"), add: 1},
			{name: "malformed timeout prefix", method: "add", data: []byte("\x1e50x0\n1"), code: 400},
			{name: "timeout prefix without its end", method: "add", data: []byte("\x1e5000"), code: 400},
			{name: "max payload, valid", method: "add", data: filled(limit, "", " ", "5"), add: 5},
			{name: "max payload, string for int", method: "add", data: filled(limit, `"`, "a", `"`), code: 400},
			{name: "max payload, random", method: "add", data: random(limit), code: 400},
			{name: "max payload, unknown method", method: "nope", data: random(limit), code: 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, msg, reply, err := request(ctx, nc, "svc.COUNTER_SERVICE."+tc.method, tc.data, tc.header)
				if err != nil {
					t.Fatal(err)
				}
				if code != tc.code {
					t.Fatalf("code %d %q, want %d", code, msg, tc.code)
				}
				if code == 0 && tc.method == "add" {
					want += tc.add
					if got, _ := strconv.Atoi(string(reply)); got != want {
						t.Fatalf("add answered %q, want %d", reply, want)
					}
				}
			})
		}
		// One byte over the server's limit is refused by the client.
		_, _, _, err := request(ctx, nc, "svc.COUNTER_SERVICE.add", filled(limit+1, "", " ", "5"), nil)
		if !errors.Is(err, nats.ErrMaxPayload) {
			t.Errorf("max payload + 1: %v, want nats.ErrMaxPayload", err)
		}
		var v int
		c, err := controller.Connect(ctx, b, h.ServiceName())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Call(ctx, "add", 1, &v); err != nil || v != want+1 {
			t.Fatalf("add after the garbage = %d, %v; want %d", v, err, want+1)
		}
	})

	t.Run("monitoring", func(t *testing.T) {
		ping := func() micro.Ping {
			_, _, reply, err := request(ctx, nc, "$SRV.PING.COUNTER_SERVICE", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var p micro.Ping
			if err := json.Unmarshal(reply, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		id := ping().ID
		for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
			for _, subj := range []string{
				"$SRV." + verb.String(),
				"$SRV." + verb.String() + ".COUNTER_SERVICE",
				"$SRV." + verb.String() + ".COUNTER_SERVICE." + id,
			} {
				for _, data := range [][]byte{random(256), []byte(`{"name":`), random(limit)} {
					t.Run(fmt.Sprintf("%s %d bytes", subj, len(data)), func(t *testing.T) {
						code, msg, reply, err := request(ctx, nc, subj, data, nil)
						if err != nil || code != 0 {
							t.Fatalf("%d %q %v", code, msg, err)
						}
						var got struct {
							Type string `json:"type"`
							Name string `json:"name"`
							ID   string `json:"id"`
						}
						if err := json.Unmarshal(reply, &got); err != nil {
							t.Fatalf("reply %q: %v", reply, err)
						}
						wantType := map[micro.Verb]string{micro.PingVerb: micro.PingResponseType,
							micro.InfoVerb: micro.InfoResponseType, micro.StatsVerb: micro.StatsResponseType}[verb]
						if got.Type != wantType || got.Name != "COUNTER_SERVICE" || got.ID != id {
							t.Fatalf("reply %+v, want a %s of COUNTER_SERVICE %s", got, wantType, id)
						}
					})
				}
			}
			for _, subj := range []string{
				"$SRV." + verb.String() + ".COUNTER_SERVICE.not-the-id",
				"$SRV." + verb.String() + ".COUNTER_SERVICE." + id + ".more",
				"$SRV." + verb.String() + ".NOBODY",
			} {
				if _, _, _, err := request(ctx, nc, subj, random(64), nil); !errors.Is(err, nats.ErrNoResponders) {
					t.Errorf("%s: %v, want no responders", subj, err)
				}
			}
		}
		if p := ping(); p.ID != id {
			t.Fatalf("ping after the garbage: id %q, want %q", p.ID, id)
		}
	})

	t.Run("log subject", func(t *testing.T) {
		undecodable := func(r slog.Record) bool {
			a := attrs(r)
			return r.Message == "undecodable log record" && r.Level == slog.LevelWarn &&
				a["service"].String() == "COUNTER_SERVICE" && a["pid"].Int64() == int64(h.PID())
		}
		garbage := [][]byte{
			random(512), nil, []byte(`null`), []byte(`[{"msg":"x"}]`), []byte(`"msg"`),
			[]byte(`{"msg":`), []byte(`{"msg":"a" "level":"INFO"}`), []byte("{\"msg\":\"\xff"),
			filled(limit, `{"msg":"`, "\\", ""), random(limit),
		}
		for _, data := range garbage {
			if err := nc.Publish(bus.LogSubject("COUNTER_SERVICE"), data); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		waitRecords(t, rec, len(garbage), 5*time.Second, undecodable)
		// The relay still relays the child's records.
		c, err := controller.Connect(ctx, b, h.ServiceName())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Call(ctx, "hello", nil, nil); err != nil {
			t.Fatal(err)
		}
		rec.wait(t, 5*time.Second, msgIs("hello"))
		if n := countRecords(rec, undecodable); n != len(garbage) {
			t.Errorf("%d undecodable-record warnings for %d bad messages", n, len(garbage))
		}
	})

	// The same process served everything, and it still stops cleanly.
	select {
	case <-h.Done():
		t.Fatalf("child exited during the garbage: %v", h.Err())
	default:
	}
	if err := h.Terminate(ctx); err != nil {
		t.Fatalf("terminate after the garbage: %v", err)
	}
}

// TestBadInputHugeErrorMessage: a method error whose message is near the
// server's payload limit still reaches the caller as an error, not as a
// timeout.
//
// Was a bug (service/serve.go, respondError): the message went into the
// Nats-Service-Error header unbounded, so the reply exceeds the server's
// max payload, Respond fails (logged "reply failed") and the caller waits
// for its deadline. The same happens for a 400 whose decode error quotes
// the input (an unknown field name of a struct argument). Fix: truncate
// the header message (to a few KiB, with a note of the bytes cut).
func TestBadInputHugeErrorMessage(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, _ := spawnRecorded(t, b)
	t.Cleanup(func() { h.Terminate(ctx) })
	nc := b.Conn()
	// fail answers 500 "failing: <its argument>".
	data := []byte(`"` + strings.Repeat("x", int(nc.MaxPayload())-2) + `"`)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	code, msg, _, err := request(cctx, nc, "svc.COUNTER_SERVICE.fail", data, nil)
	if err != nil || code != service.CodeInternal {
		t.Fatalf("fail with a 1 MiB message: code %d, err %v; want 500", code, err)
	}
	if !strings.HasPrefix(msg, "failing: xxx") {
		t.Errorf("message %.40q…", msg)
	}
}

// request sends data to subj and returns the reply's error code and
// message (0 and "" for a success) and data. Without a deadline in ctx it
// waits 10 s.
func request(ctx context.Context, nc *nats.Conn, subj string, data []byte, hdr nats.Header) (code int, msg string, reply []byte, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	m, err := nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: subj, Data: data, Header: hdr})
	if err != nil {
		return 0, "", nil, err
	}
	if c := m.Header.Get(micro.ErrorCodeHeader); c != "" {
		code, err = strconv.Atoi(c)
		if err != nil {
			return 0, "", nil, fmt.Errorf("bad error code %q", c)
		}
	}
	return code, m.Header.Get(micro.ErrorHeader), m.Data, nil
}

// countRecords counts the records that match pred.
func countRecords(r *recorder, pred func(slog.Record) bool) int {
	n := 0
	for _, rec := range r.all() {
		if pred(rec) {
			n++
		}
	}
	return n
}

// waitRecords waits until n records match pred.
func waitRecords(t testing.TB, r *recorder, n int, timeout time.Duration, pred func(slog.Record) bool) {
	t.Helper()
	root := r.root()
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() { root.cond.Broadcast() })
	defer stop.Stop()
	root.mu.Lock()
	defer root.mu.Unlock()
	seen, i := 0, 0
	for {
		for ; i < len(root.records); i++ {
			if pred(root.records[i]) {
				seen++
			}
		}
		if seen >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d matching records within %v", seen, n, timeout)
		}
		root.cond.Wait()
	}
}
