package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/services/ecusim"
	"github.com/bgkit/bgkit/services/ecuwatchdog"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/isotp"
)

// watchdogSpawn spawns kind as name, terminated at cleanup. Unlike
// spawnKind it accepts an exit that is not clean: the tests SIGKILL it.
func watchdogSpawn(t *testing.T, b *bus.Bus, rec *recorder, kind, name, args string) *spawn.Handle {
	t.Helper()
	h, err := spawn.RunKind(e2eCtx(t), b, kind, json.RawMessage(args), spawn.WithName(name), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatalf("spawn %s: %v", kind, err)
	}
	t.Cleanup(func() {
		select {
		case <-h.Done():
			return // killed by the test
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Terminate(ctx); err != nil {
			t.Errorf("terminate %s: %v", name, err)
		}
	})
	return h
}

// watchdogEvents follows every event of the service name with a plain
// NATS subscription on evt.<NAME>.>.
func watchdogEvents(t *testing.T, b *bus.Bus, name string) chan *nats.Msg {
	t.Helper()
	ch := make(chan *nats.Msg, 64)
	sub, err := b.Conn().ChanSubscribe(bus.EventWildcard(name), ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return ch
}

// watchdogIncident waits for the next event of the watchdog, which must be
// on topic.
func watchdogIncident(t *testing.T, ch chan *nats.Msg, topic string) ecuwatchdog.Incident {
	t.Helper()
	select {
	case m := <-ch:
		var inc ecuwatchdog.Incident
		if err := json.Unmarshal(m.Data, &inc); err != nil || m.Subject != bus.EventSubject(ecuwatchdog.Name, topic) {
			t.Fatalf("event %s %s, want %s", m.Subject, m.Data, topic)
		}
		return inc
	case <-time.After(e2eDeadline / 2):
		t.Fatalf("no %s event", topic)
		return ecuwatchdog.Incident{}
	}
}

func watchdogWaitStatus(t *testing.T, c *ecuwatchdog.Controller, what string, cond func(ecuwatchdog.Status) bool) {
	t.Helper()
	ctx := e2eCtx(t)
	for {
		st, err := c.Status(ctx)
		if err == nil && cond(st) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: status %+v, %v", what, st, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func watchdogHasFrame(frames []ecuwatchdog.Frame, prefix string) bool {
	for _, f := range frames {
		if strings.HasPrefix(f.Frame, prefix) {
			return true
		}
	}
	return false
}

// Through real processes on virtual:wd: the watchdog reads the active
// session of an ecu-sim; after 10 03 then 11 01 from the test it reports
// ecu_reset (3 → 1) with the ECUReset request in its black box; when the
// ecu-sim is SIGKILLed it reports ecu_crashed, after the kill, with the
// unanswered probes in the black box; a new ecu-sim makes ecu_back.
func TestWatchdogCrashAndReset(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorder()
	ctx := e2eCtx(t)
	evs := watchdogEvents(t, b, ecuwatchdog.Name)
	ecuEvs := watchdogEvents(t, b, "WD_ECU_1")
	ecu := watchdogSpawn(t, b, rec, ecusim.Kind, "WD_ECU_1", `{"bus": "virtual:wd", "s3_ms": 60000}`)
	watchdogSpawn(t, b, rec, ecuwatchdog.Kind, ecuwatchdog.Name,
		`{"bus": "virtual:wd", "tx_id": "0x7E0", "rx_id": "7E8", "probe": "session", "period_ms": 50, "timeout_ms": 50, "crash_after": 3, "black_box": 32}`)
	wd, err := ecuwatchdog.Connect(ctx, b, "")
	if err != nil {
		t.Fatal(err)
	}
	defer wd.Close()
	watchdogWaitStatus(t, wd, "the default session", func(st ecuwatchdog.Status) bool { return st.Session == 1 })

	cb, err := can.Open(ctx, "virtual:wd", can.WithNATS(b.Conn()))
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	conn, err := isotp.New(cb, isotp.Config{TxID: 0x7E0, RxID: 0x7E8})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tester := uds.NewClient(conn, uds.WithP2(5*time.Second))
	if _, err := tester.DiagnosticSessionControl(ctx, uds.ExtendedDiagnosticSession); err != nil {
		t.Fatal(err)
	}
	watchdogWaitStatus(t, wd, "the extended session", func(st ecuwatchdog.Status) bool { return st.Session == 3 })
	resetAt := time.Now()
	resp, err := tester.Do(ctx, []byte{0x11, 0x01})
	if err != nil || fmt.Sprintf("% X", resp) != "51 01" {
		t.Fatalf("11 01 → % X, %v", resp, err)
	}
	inc := watchdogIncident(t, evs, ecuwatchdog.TopicReset)
	if inc.From != 3 || inc.To != 1 || inc.Time.Before(resetAt) || !watchdogHasFrame(inc.Frames, "7E0#021101") || !watchdogHasFrame(inc.Frames, "7E8#025101") {
		t.Fatalf("ecu_reset %+v", inc)
	}

	// The ecu-sim child announced both session changes itself.
	for _, want := range []string{`{"from":1,"to":3,"cause":"request"}`, `{"from":3,"to":1,"cause":"reset"}`} {
		select {
		case m := <-ecuEvs:
			if m.Subject != bus.EventSubject("WD_ECU_1", ecusim.TopicSessionChanged) || string(m.Data) != want {
				t.Fatalf("ecu-sim event %s %s, want %s", m.Subject, m.Data, want)
			}
		case <-ctx.Done():
			t.Fatalf("no ecu-sim event %s", want)
		}
	}

	if err := syscall.Kill(ecu.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A reply already on its way may still arrive after the kill: the
	// crash is the probes after it that got none.
	killedAt := time.Now()
	<-ecu.Done()
	inc = watchdogIncident(t, evs, ecuwatchdog.TopicCrashed)
	if inc.Missed != 3 || inc.Time.Before(killedAt) || !inc.LastReply.Before(inc.Time) || len(inc.Frames) < 3 || len(inc.Frames) > 32 {
		t.Fatalf("ecu_crashed %+v", inc)
	}
	if last := inc.Frames[len(inc.Frames)-1]; !strings.HasPrefix(last.Frame, "7E0#0322F186") {
		t.Errorf("the last frame is %+v, want an unanswered probe", last)
	}
	t.Logf("crash reported %v after SIGKILL (3 probes of 50 ms)", inc.Time.Sub(killedAt).Round(time.Millisecond))

	watchdogSpawn(t, b, rec, ecusim.Kind, "WD_ECU_2", `{"bus": "virtual:wd"}`)
	back := watchdogIncident(t, evs, ecuwatchdog.TopicBack)
	if back.Missed < 3 || back.DownMS <= 0 {
		t.Fatalf("ecu_back %+v", back)
	}
	st, err := wd.Status(ctx)
	if err != nil || st.State != ecuwatchdog.StateOK || st.Crashes != 1 || st.Resets != 1 || st.Session != 1 {
		t.Fatalf("status %+v, %v", st, err)
	}
}
