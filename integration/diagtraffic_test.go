package integration

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/services/diagtraffic"
)

// Through real processes: diag-traffic runs a script over DoIP on
// 127.0.0.1 against an ecu-sim, counts what the ECU answered, and
// announces the end of the run; the ECU's own counters agree.
func TestDiagTrafficDoIP(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorder()
	ctx := e2eCtx(t)
	ecu := spawnECUSim(t, b, rec, `{"bus": "virtual:dt", "doip_listen": "127.0.0.1:0", "logical_address": "0x1001", "dids": {"0x0102": "AABB"}}`)
	est, err := ecu.Stats(ctx)
	if err != nil || est.DoIPAddress == "" {
		t.Fatalf("ecu stats %+v, %v", est, err)
	}
	ends := watchdogEvents(t, b, diagtraffic.Name)
	spawnKind(t, b, rec, diagtraffic.Kind, fmt.Sprintf(`{
		"doip_address": %q, "target_address": "1001", "autostart": true,
		"requests": [
			{"name": "vin", "data": "22 F1 90", "period_ms": 10, "expect": "62 F1 90 42 47 4B", "count": 20},
			{"name": "did", "data": "22 01 02", "period_ms": 20, "expect": "62 01 02 AA BB", "count": 10},
			{"name": "unknown", "data": "22 12 34", "period_ms": 20, "count": 5},
			{"name": "session", "data": "10 03", "period_ms": 50, "expect": "50 03", "count": 2}
		]}`, est.DoIPAddress))

	var ev diagtraffic.RunEnded
	var m *nats.Msg
	select {
	case m = <-ends:
	case <-ctx.Done():
		t.Fatal("no run_ended event")
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil || m.Subject != bus.EventSubject(diagtraffic.Name, diagtraffic.TopicRunEnded) {
		t.Fatalf("event %s %s", m.Subject, m.Data)
	}
	if ev.Reason != diagtraffic.ReasonCount || ev.Sent != 37 || ev.OK != 32 || ev.Mismatched != 5 || ev.NRC != 5 || ev.Timeouts != 0 || ev.Errors != 0 {
		t.Fatalf("run_ended %+v", ev)
	}
	dt, err := diagtraffic.Connect(ctx, b, "")
	if err != nil {
		t.Fatal(err)
	}
	defer dt.Close()
	st, err := dt.Stats(ctx)
	if err != nil || st.Running || st.Ended != diagtraffic.ReasonCount || len(st.Requests) != 4 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	for _, r := range st.Requests {
		t.Logf("%-8s sent %2d ok %2d nrc %d latency p50 %d µs p99 %d µs", r.Name, r.Sent, r.OK, r.NRC, r.LatencyP50US, r.LatencyP99US)
		if r.LatencyP50US <= 0 || r.LatencyMaxUS < r.LatencyP99US {
			t.Errorf("%s latencies %+v", r.Name, r)
		}
	}
	if u := st.Requests[2]; u.NRCs["31"] != 5 || u.LastReply != "7F 22 31" {
		t.Errorf("unknown DID %+v", u)
	}
	est, err = ecu.Stats(ctx)
	if err != nil || est.BySID["22"] != 35 || est.BySID["10"] != 2 || est.ByNRC["31"] != 5 || est.Session != 3 {
		t.Errorf("ecu stats %+v, %v", est, err)
	}
}
