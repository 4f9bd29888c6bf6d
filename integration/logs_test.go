package integration

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

func TestLogRecordReachesParent(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	before := time.Now()
	if err := c.Call(ctx, "hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	logs := h.Logs()
	r := logs.WaitFor(t, bgkittest.Message("hello"), 5*time.Second)
	if r.Level != slog.LevelInfo {
		t.Errorf("level = %v, want INFO", r.Level)
	}
	// The record keeps the child's time, not the time the parent got it.
	if r.Time.Before(before.Add(-time.Millisecond)) || r.Time.After(after) {
		t.Errorf("time %v not within the call [%v, %v]", r.Time, before, after)
	}
	a := attrs(r)
	if a["k"].String() != "v" || a["service"].String() != "COUNTER_SERVICE" || a["pid"].Int64() != int64(h.PID()) {
		t.Errorf("attrs = %v, want k=v service=COUNTER_SERVICE pid=%d", a, h.PID())
	}
	// Records logged during Initialize arrived too.
	logs.WaitFor(t, bgkittest.Message("counter ready"), time.Second)
}

// TestLogRecordsCarryTheShortInbox: a child of the embedded bus numbers
// its records under the short log inbox granted to it (_INBOX.<8>.<seq>),
// not under its name's inbox prefix.
func TestLogRecordsCarryTheShortInbox(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	sub, err := b.Conn().SubscribeSync(bus.LogSubject("COUNTER_SERVICE"))
	if err != nil {
		t.Fatal(err)
	}
	b.Conn().Flush()
	bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err := c.Call(ctx, "hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	form := regexp.MustCompile(`^_INBOX\.[0-9A-Za-z]{8}\.[1-9][0-9]*$`)
	for {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !form.MatchString(m.Reply) {
			t.Fatalf("record %s has reply subject %q", m.Data, m.Reply)
		}
		if strings.Contains(string(m.Data), `"msg":"hello"`) {
			return
		}
	}
}

// TestShutdownLogsAllArrive: 10,000 records logged in Shutdown all reach
// the parent, in order, before Terminate returns.
func TestShutdownLogsAllArrive(t *testing.T) {
	const n = 10000
	h := bgkittest.Spawn(t, bgkittest.Bus(t), NewCounterService, CounterArgs{Step: 1, ShutdownLogs: n})
	if err := h.Terminate(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	for _, r := range h.Logs().Records() {
		if r.Message != "bye" {
			continue
		}
		if got := attrs(r)["i"].Int64(); got != next {
			t.Fatalf("record %d out of order or missing: got i=%d", next, got)
		}
		next++
	}
	if next != n {
		t.Fatalf("got %d of %d shutdown records before Terminate returned", next, n)
	}
}

// TestOversizedRecordReachesParent: a record of 2 MiB (twice the bus's
// max payload) reaches the parent's logger at ERROR, cut to fit, with its
// small attributes, saying what was cut, and no "dropped" record.
func TestOversizedRecordReachesParent(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	n := 2 * int(b.Conn().MaxPayload())
	if err := c.Call(ctx, "log_big", n, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	var dumps int
	for _, r := range h.Logs().Records() {
		switch {
		case strings.Contains(r.Message, "dropped"), r.Message == "undecodable log record":
			t.Errorf("%v %q", r.Level, r.Message)
		case r.Message == "dump":
			dumps++
			a := attrs(r)
			if r.Level != slog.LevelError || a["ecu"].String() != "BCM" || a["frames"].Int64() != 7 ||
				a["record_bytes"].Int64() <= int64(n) || len(a["dump"].String()) >= n {
				t.Errorf("relayed as %v %q %v", r.Level, r.Message, len(a["dump"].String()))
			}
		case strings.Count(r.Message, "d") > 1000:
			t.Errorf("the record came as a line of stderr too: %v, %d bytes", r.Level, len(r.Message))
		}
	}
	if dumps != 1 {
		t.Fatalf("%d dump records, want 1", dumps)
	}
}

func TestStderrAndPanicRelayed(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, rec := spawnRecorded(t, b)
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err := c.Call(ctx, "stderr", "plain stderr line", nil); err != nil {
		t.Fatal(err)
	}
	r := rec.wait(t, 5*time.Second, msgIs("plain stderr line"))
	if r.Level != slog.LevelWarn || attrs(r)["stream"].String() != "stderr" || attrs(r)["service"].String() != "COUNTER_SERVICE" {
		t.Errorf("stderr record: level %v attrs %v", r.Level, attrs(r))
	}
	// A panic in a goroutine kills the child; its trace is one ERROR record.
	// (Published without a reply subject: the call never returns.)
	if err := b.Conn().Publish("svc.COUNTER_SERVICE.crash", nil); err != nil {
		t.Fatal(err)
	}
	<-h.Done()
	r = rec.wait(t, time.Second, msgIs("panic: crash test"))
	if r.Level != slog.LevelError {
		t.Errorf("panic record level = %v", r.Level)
	}
	trace := attrs(r)["trace"].String()
	if !strings.Contains(trace, "goroutine") || !strings.Contains(trace, "Crash") {
		t.Errorf("trace lacks the stack: %q", trace)
	}
	if h.Err() == nil || !strings.Contains(h.Err().Error(), "exit status 2") {
		t.Errorf("Err = %v, want exit status 2", h.Err())
	}
	// The parent reports the crash at ERROR.
	rec.wait(t, time.Second, func(r slog.Record) bool {
		return r.Level == slog.LevelError && r.Message == "service exited unexpectedly"
	})
}

// TestStderrOddLinesRelayed: a child's stderr keeps being relayed after a
// line longer than the relay's line limit (the line itself arrives cut,
// saying so; before, the parent stopped reading and the child's next
// write failed with EPIPE) and after a line that looks like the start of
// a panic while the child goes on running (it arrives while the child
// runs, not when it exits).
func TestStderrOddLinesRelayed(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, rec := spawnRecorded(t, b)
	defer h.Terminate(ctx)
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err := c.Call(ctx, "stderr_long", 3<<20, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "stderr", "after the long line", nil); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 5*time.Second, msgIs("after the long line"))
	long := rec.wait(t, time.Second, func(r slog.Record) bool { return strings.HasPrefix(r.Message, "xxxx") })
	if n := len(long.Message); n >= 3<<20 || n < 1<<10 {
		t.Errorf("the long line arrived with %d bytes, want it cut", n)
	}
	if attrs(long)["truncated_bytes"].Int64() != int64(3<<20-len(long.Message)) {
		t.Errorf("the long line's record does not say how much was cut: %v", attrs(long))
	}
	// A line that looks like a panic starts a trace record; a pause ends
	// it while the child runs, and what comes after is relayed as usual.
	if err := c.Call(ctx, "stderr", "panic: recovered, going on", nil); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 5*time.Second, msgIs("panic: recovered, going on"))
	select {
	case <-h.Done():
		t.Fatal("the child exited")
	default:
	}
	if err := c.Call(ctx, "stderr", "still running", nil); err != nil {
		t.Fatal(err)
	}
	r := rec.wait(t, 5*time.Second, msgIs("still running"))
	if r.Level != slog.LevelWarn {
		t.Errorf("the line after the trace: level %v, want WARN (a stderr line)", r.Level)
	}
}
