package diagtraffic

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
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/ecusim"
)

const waitTimeout = 10 * time.Second

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{name: "minimal", json: `{"requests": [{"data": "3E 00", "period_ms": 100}]}`},
		{name: "doip", json: `{"doip_address": "127.0.0.1:13400", "target_address": "0x1001", "requests": [{"data": "22F190", "period_ms": 1, "expect": "62 F1 90"}]}`},
		{name: "no requests", json: `{}`, wantErr: "diag-traffic: invalid arguments: requests"},
		{name: "no period", json: `{"requests": [{"data": "3E 00"}]}`, wantErr: "period_ms"},
		{name: "bad data", json: `{"requests": [{"data": "3E 0", "period_ms": 1}]}`, wantErr: "requests[0].data"},
		{name: "bad expect", json: `{"requests": [{"data": "3E 00", "period_ms": 1, "expect": "XX"}]}`, wantErr: "requests[0].expect"},
		{name: "same name", json: `{"requests": [{"data": "3E 00", "period_ms": 1}, {"data": "3e  00", "period_ms": 2}]}`, wantErr: `requests[1].name "3E 00": given twice`},
		{name: "same ids", json: `{"tx_id": "7E8", "requests": [{"data": "3E 00", "period_ms": 1}]}`, wantErr: "tx_id and rx_id are both 0x7E8"},
		// About 317 years: it overflowed time.Duration, and the run ended
		// at once with reason "duration", before sending anything.
		{name: "duration beyond a year", json: `{"duration_ms": 10000000000000, "requests": [{"data": "3E 00", "period_ms": 1000}]}`, wantErr: "duration_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Args
			if err := json.Unmarshal([]byte(tt.json), &a); err != nil {
				t.Fatal(err)
			}
			_, err := New(a)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if got := service.DeriveName("DiagTrafficService"); got != Name {
		t.Errorf("derived %q, Name %q", got, Name)
	}
}

func runEnded(tb testing.TB, b *bus.Bus) chan *nats.Msg {
	tb.Helper()
	ch := make(chan *nats.Msg, 16)
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

func nextEnd(tb testing.TB, ch chan *nats.Msg) RunEnded {
	tb.Helper()
	select {
	case m := <-ch:
		var ev RunEnded
		if err := json.Unmarshal(m.Data, &ev); err != nil || m.Subject != bus.EventSubject(Name, TopicRunEnded) {
			tb.Fatalf("event %s %s", m.Subject, m.Data)
		}
		return ev
	case <-time.After(waitTimeout):
		tb.Fatal("no run_ended")
		return RunEnded{}
	}
}

func serveECU(tb testing.TB, b *bus.Bus, args ecusim.Args) *ecusim.ECUSimService {
	tb.Helper()
	svc, err := ecusim.New(args)
	if err != nil {
		tb.Fatal(err)
	}
	bgkittest.Serve(tb, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)))
	return svc
}

func serve(tb testing.TB, b *bus.Bus, args Args) *Controller {
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
	return c
}

// testScript is the requests of the CAN and DoIP tests: a positive reply as
// expected, an NRC where a positive reply was expected, an NRC expected,
// and a reply that does not match.
var testScript = []Request{
	{Name: "vin", Data: "22 F1 90", PeriodMS: 5, Expect: "62 F1 90", Count: 5},
	{Name: "unknown did", Data: "22 12 34", PeriodMS: 5, Count: 3},
	{Name: "refused", Data: "22 12 34", PeriodMS: 5, Expect: "7F 22 31", Count: 2},
	{Name: "wrong", Data: "3E 00", PeriodMS: 5, Expect: "7E 01", Count: 4},
}

func checkScriptStats(t *testing.T, ev RunEnded, st Stats) {
	t.Helper()
	if ev.Reason != ReasonCount || ev.Sent != 14 || ev.OK != 7 || ev.Mismatched != 7 || ev.NRC != 5 || ev.Timeouts != 0 || ev.Errors != 0 {
		t.Errorf("run_ended %+v", ev)
	}
	if st.Running || st.Ended != ReasonCount || st.Totals != ev.Totals || len(st.Requests) != 4 {
		t.Fatalf("stats %+v", st)
	}
	vin, unknown, refused, wrong := st.Requests[0], st.Requests[1], st.Requests[2], st.Requests[3]
	if vin.OK != 5 || vin.LatencyP50US <= 0 || vin.LatencyMaxUS < vin.LatencyP99US || !strings.HasPrefix(vin.LastReply, "62 F1 90 42 47") {
		t.Errorf("vin %+v", vin)
	}
	if unknown.Mismatched != 3 || unknown.NRCs["31"] != 3 || unknown.LastReply != "7F 22 31" || !strings.Contains(unknown.LastError, "want a positive response") {
		t.Errorf("unknown did %+v", unknown)
	}
	if refused.OK != 2 || refused.NRC != 2 {
		t.Errorf("refused %+v", refused)
	}
	if wrong.Mismatched != 4 || wrong.LastReply != "7E 00" {
		t.Errorf("wrong %+v", wrong)
	}
}

func TestScriptCAN(t *testing.T) {
	b := bgkittest.Bus(t)
	ends := runEnded(t, b)
	serveECU(t, b, ecusim.Args{})
	c := serve(t, b, Args{Requests: testScript, Autostart: true})
	ev := nextEnd(t, ends)
	st, err := c.Stats(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	checkScriptStats(t, ev, st)
}

func TestScriptDoIP(t *testing.T) {
	b := bgkittest.Bus(t)
	ends := runEnded(t, b)
	ecu := serveECU(t, b, ecusim.Args{DoIPListen: "127.0.0.1:0", LogicalAddress: 0x1001})
	est, err := ecu.Stats(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	c := serve(t, b, Args{DoIPAddress: est.DoIPAddress, Requests: testScript})
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	ev := nextEnd(t, ends)
	st, err := c.Stats(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	checkScriptStats(t, ev, st)
}

// Without an ECU every request times out; the run ends after its
// duration, or at stop.
func TestTimeoutsDurationStop(t *testing.T) {
	b := bgkittest.Bus(t)
	ends := runEnded(t, b)
	c := serve(t, b, Args{Bus: "virtual:empty", TimeoutMS: 5, DurationMS: 100,
		Requests: []Request{{Data: "3E 00", PeriodMS: 10}}})
	ctx := testCtx(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ev := nextEnd(t, ends)
	if ev.Reason != ReasonDuration || ev.Sent == 0 || ev.Timeouts != ev.Sent || ev.DurationMS < 100 {
		t.Errorf("run_ended %+v", ev)
	}
	st, _ := c.Stats(ctx)
	if r := st.Requests[0]; r.Name != "3E 00" || !strings.Contains(r.LastError, "no response") || r.LastReply != "" {
		t.Errorf("request stats %+v", r)
	}
	// A second run adds up; stop ends it.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := nextEnd(t, ends); ev.Reason != ReasonStopped || ev.Sent < st.Sent {
		t.Errorf("second run_ended %+v after %+v", ev, st.Totals)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
