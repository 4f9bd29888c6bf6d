package ecuwatchdog

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/ecusim"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/isotp"
)

const waitTimeout = 10 * time.Second

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

func ptr[T any](v T) *T { return &v }

func TestArgs(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    func(Args) bool
		wantErr string
	}{
		{name: "zero", json: `{}`, want: func(a Args) bool {
			return a.Bus == DefaultBus && a.TxID == 0x7E0 && a.RxID == 0x7E8 && a.Probe == ProbeTesterPresent &&
				a.PeriodMS == 500 && a.TimeoutMS == 200 && a.CrashAfter == 2 && a.BlackBox == 100 && *a.Padding
		}},
		{name: "hex forms", json: `{"tx_id": "0x7E1", "rx_id": "7E9", "probe": "session"}`, want: func(a Args) bool {
			return a.TxID == 0x7E1 && a.RxID == 0x7E9 && a.Probe == ProbeSession
		}},
		{name: "short period", json: `{"period_ms": 50}`, want: func(a Args) bool { return a.TimeoutMS == 50 }},
		{name: "doip", json: `{"doip_address": "127.0.0.1:13400", "target_address": "1001"}`, want: func(a Args) bool {
			return a.SourceAddress == 0x0E00 && a.TargetAddress == 0x1001 && a.Bus == "" && a.BlackBox == 0
		}},
		{name: "bad probe", json: `{"probe": "ping"}`, wantErr: "ecu-watchdog: invalid arguments: probe"},
		{name: "timeout above period", json: `{"period_ms": 100, "timeout_ms": 200}`, wantErr: "timeout_ms 200 is longer than period_ms 100"},
		{name: "same ids", json: `{"tx_id": "7E8"}`, wantErr: "tx_id and rx_id are both 0x7E8"},
		{name: "11 bits", json: `{"tx_id": "800"}`, wantErr: "tx_id 0x800 exceeds 11 bits"},
		{name: "doip port", json: `{"doip_address": "127.0.0.1"}`, wantErr: "doip_address"},
		{name: "bus", json: `{"bus": "can0"}`, wantErr: "bus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Args
			if err := json.Unmarshal([]byte(tt.json), &a); err != nil {
				t.Fatal(err)
			}
			s, err := New(a)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.want(s.args) {
				t.Fatalf("args %+v, %v", s.args, err)
			}
		})
	}
	if got := service.DeriveName("ECUWatchdogService"); got != Name {
		t.Errorf("derived name %q, Name %q", got, Name)
	}
}

// events subscribes to every event of the watchdog with plain NATS.
func events(tb testing.TB, b *bus.Bus) chan *nats.Msg {
	tb.Helper()
	ch := make(chan *nats.Msg, 64)
	sub, err := b.Conn().ChanSubscribe(bus.EventWildcard(Name), ch)
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sub.Unsubscribe() })
	return ch
}

// nextIncident waits for the next event, which must be on topic.
func nextIncident(tb testing.TB, ch chan *nats.Msg, topic string) Incident {
	tb.Helper()
	select {
	case m := <-ch:
		var inc Incident
		if err := json.Unmarshal(m.Data, &inc); err != nil || m.Subject != bus.EventSubject(Name, topic) {
			tb.Fatalf("event %s %s, want %s", m.Subject, m.Data, topic)
		}
		return inc
	case <-time.After(waitTimeout):
		tb.Fatalf("no %s event", topic)
		return Incident{}
	}
}

// ecu is an ECU simulator served in-process that a test can stop.
type ecu struct {
	stop func()
	svc  *ecusim.ECUSimService
}

func startECU(tb testing.TB, b *bus.Bus, args ecusim.Args) *ecu {
	tb.Helper()
	svc, err := ecusim.New(args)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		tb.Fatalf("ecu-sim: %v", err)
	}
	var once bool
	e := &ecu{svc: svc, stop: func() {
		if !once {
			once = true
			cancel()
			<-done
		}
	}}
	tb.Cleanup(e.stop)
	return e
}

func serve(tb testing.TB, b *bus.Bus, args Args) (*ECUWatchdogService, *Controller) {
	tb.Helper()
	svc, err := newService(args, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	bgkittest.Serve(tb, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)))
	c, err := Connect(testCtx(tb), b, "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return svc, c
}

// waitStatus polls the status until cond holds; the watchdog has no event
// for "a reply came".
func waitStatus(tb testing.TB, c *Controller, what string, cond func(Status) bool) Status {
	tb.Helper()
	ctx := testCtx(tb)
	for {
		st, err := c.Status(ctx)
		if err == nil && cond(st) {
			return st
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("waiting for %s: last status %+v, %v", what, st, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// The ECU stops answering: ecu_crashed with the black box of the bus; it
// comes back: ecu_back.
func TestCrashAndBack(t *testing.T) {
	b := bgkittest.Bus(t)
	evs := events(t, b)
	e := startECU(t, b, ecusim.Args{})
	_, c := serve(t, b, Args{PeriodMS: 20, TimeoutMS: 20, CrashAfter: 3, BlackBox: 8})
	waitStatus(t, c, "replies", func(st Status) bool { return st.Replies >= 3 && st.State == StateOK })

	before := time.Now()
	e.stop()
	inc := nextIncident(t, evs, TopicCrashed)
	if inc.Kind != "crashed" || inc.Missed != 3 || inc.Time.Before(before) || !strings.Contains(inc.Error, "no response") ||
		inc.LastReply.IsZero() || inc.LastReply.After(inc.Time) {
		t.Errorf("incident %+v", inc)
	}
	if len(inc.Frames) != 8 {
		t.Fatalf("%d frames in the black box, want 8", len(inc.Frames))
	}
	// The last frames are unanswered probes; a reply is in the box too.
	last := inc.Frames[len(inc.Frames)-1]
	if !strings.HasPrefix(last.Frame, "7E0#023E00") || last.Time.After(inc.Time) {
		t.Errorf("last frame %+v", last)
	}
	st, err := c.Status(testCtx(t))
	if err != nil || st.State != StateCrashed || st.Crashes != 1 || st.LastIncident == nil || st.LastIncident.Kind != "crashed" {
		t.Fatalf("status %+v, %v", st, err)
	}

	startECU(t, b, ecusim.Args{})
	back := nextIncident(t, evs, TopicBack)
	if back.Missed < 3 || back.DownMS <= 0 || len(back.Frames) != 0 {
		t.Errorf("back %+v", back)
	}
	if st := waitStatus(t, c, "ok", func(st Status) bool { return st.State == StateOK }); st.Crashes != 1 {
		t.Errorf("status %+v", st)
	}
}

// canTester opens a UDS client to the ECU on virtual:bus0.
func canTester(tb testing.TB, b *bus.Bus) *uds.Client {
	tb.Helper()
	cb, err := can.Open(testCtx(tb), "virtual:bus0", can.WithNATS(b.Conn()))
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := isotp.New(cb, isotp.Config{TxID: 0x7E0, RxID: 0x7E8})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(); cb.Close() })
	return uds.NewClient(conn, uds.WithP2(waitTimeout))
}

// The session probe sees the ECU fall back to the default session after
// ECUReset: ecu_reset, from 3 to 1.
func TestReset(t *testing.T) {
	b := bgkittest.Bus(t)
	evs := events(t, b)
	startECU(t, b, ecusim.Args{S3Ms: 60_000})
	_, c := serve(t, b, Args{Probe: ProbeSession, PeriodMS: 20, TimeoutMS: 20})
	waitStatus(t, c, "the default session", func(st Status) bool { return st.Session == 1 })
	tester := canTester(t, b)
	ctx := testCtx(t)
	if _, err := tester.DiagnosticSessionControl(ctx, uds.ExtendedDiagnosticSession); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "the extended session", func(st Status) bool { return st.Session == 3 })
	if _, err := tester.ECUReset(ctx, uds.HardReset); err != nil {
		t.Fatal(err)
	}
	inc := nextIncident(t, evs, TopicReset)
	if inc.Kind != "reset" || inc.From != 3 || inc.To != 1 || len(inc.Frames) == 0 {
		t.Fatalf("incident %+v", inc)
	}
	found := false
	for _, f := range inc.Frames {
		found = found || strings.HasPrefix(f.Frame, "7E0#021101")
	}
	if !found {
		t.Errorf("the black box lacks the ECUReset request: %+v", inc.Frames)
	}
	if st, _ := c.Status(ctx); st.Resets != 1 || st.Crashes != 0 || st.Session != 1 {
		t.Errorf("status %+v", st)
	}
}

// Over DoIP: the watchdog may start before the entity, and reports its
// end as a crash.
func TestDoIP(t *testing.T) {
	b := bgkittest.Bus(t)
	evs := events(t, b)
	e := startECU(t, b, ecusim.Args{Bus: "virtual:doip", DoIPListen: "127.0.0.1:0"})
	st, err := e.svc.Stats(testCtx(t))
	if err != nil || st.DoIPAddress == "" {
		t.Fatalf("stats %+v, %v", st, err)
	}
	_, c := serve(t, b, Args{DoIPAddress: st.DoIPAddress, Probe: ProbeSession, PeriodMS: 20, TimeoutMS: 20})
	waitStatus(t, c, "replies", func(st Status) bool { return st.Replies >= 3 && st.Session == 1 })
	e.stop()
	inc := nextIncident(t, evs, TopicCrashed)
	if inc.Missed != 2 || inc.Frames != nil {
		t.Errorf("incident %+v", inc)
	}
	if bb, err := c.BlackBox(testCtx(t)); err != nil || len(bb) != 0 {
		t.Errorf("black box over DoIP: %v, %v", bb, err)
	}
}
