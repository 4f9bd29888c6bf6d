package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/services/ecusim"
	"github.com/bgkit/bgkit/services/testerpresent"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"

	"github.com/bgkit/bgkit/bgkittest"
)

// The S3 scenario of issue 4, through real processes: an ECU simulator
// with s3_ms 300 is put into the extended session by a 10 03 request from
// the test; with tester present at 100 ms it is still extended after 2 s;
// after stop it falls back to the default session within 1 s and
// s3_expiries counts it. The expiry is awaited as the relayed log record.
//
// The kinds "ecu-sim" and "tester-present" are registered by TestMain
// (services.RegisterAll).

const (
	s3Hold      = 2 * time.Second // how long tester present must hold the session
	s3FallBack  = time.Second     // the bound on the fall-back after stop
	e2eDeadline = 30 * time.Second
)

func TestECUSimS3TesterPresentCAN(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorder()
	ctx := e2eCtx(t)
	ecu := spawnECUSim(t, b, rec, `{"bus": "virtual:e2e", "s3_ms": 300}`)
	tp := spawnTesterPresent(t, b, rec, `{"bus": "virtual:e2e", "interval_ms": 100}`)

	cb, err := can.Open(ctx, "virtual:e2e", can.WithNATS(b.Conn()))
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	conn, err := isotp.New(cb, isotp.Config{TxID: 0x7E0, RxID: 0x7E8})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s3Scenario(t, ctx, rec, ecu, tp, uds.NewClient(conn, uds.WithP2(5*time.Second)))
}

func TestECUSimS3TesterPresentDoIP(t *testing.T) {
	b := bgkittest.Bus(t)
	rec := newRecorder()
	ctx := e2eCtx(t)
	ecu := spawnECUSim(t, b, rec, `{"bus": "virtual:e2e", "s3_ms": 300, "doip_listen": "127.0.0.1:0"}`)
	addr, err := ecu.DoIPAddress(ctx)
	if err != nil || addr == "" {
		t.Fatalf("doip_address %q, %v", addr, err)
	}
	// The test's tester and tester present need source addresses of their
	// own: a DoIP entity routes one source address on one socket.
	tp := spawnTesterPresent(t, b, rec, fmt.Sprintf(
		`{"doip_address": %q, "source_address": %d, "target_address": %d, "interval_ms": 100}`,
		addr, 0x0E01, doip.DefaultEntityAddress))

	dc, err := doip.Dial(ctx, addr, doip.ClientConfig{SourceAddress: 0x0E80})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer dc.Close()
	s3Scenario(t, ctx, rec, ecu, tp, uds.NewClient(dc.DiagConn(doip.DefaultEntityAddress), uds.WithP2(5*time.Second)))
}

// s3Scenario runs the scenario with tester c talking to the ECU.
func s3Scenario(t *testing.T, ctx context.Context, rec *recorder, ecu *ecusim.Controller, tp *testerpresent.Controller, c *uds.Client) {
	t.Helper()
	if err := tp.Start(ctx); err != nil {
		t.Fatalf("start tester present: %v", err)
	}
	resp, err := c.Do(ctx, []byte{0x10, 0x03})
	if err != nil || fmt.Sprintf("% X", resp) != "50 03 00 32 01 F4" {
		t.Fatalf("10 03 → % X, %v", resp, err)
	}
	entered := time.Now()
	if s, err := ecu.Session(ctx); err != nil || s.Session != 3 {
		t.Fatalf("session after 10 03: %+v, %v", s, err)
	}

	// Hold for 2 s (the behaviour under test is a duration), then check
	// that no expiry was logged meanwhile.
	hold := time.NewTimer(time.Until(entered.Add(s3Hold)))
	defer hold.Stop()
	select {
	case <-hold.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	for _, r := range rec.all() {
		if r.Message == ecusim.LogS3Expiry {
			t.Fatalf("the session expired %v after 10 03 with tester present running", r.Time.Sub(entered))
		}
	}
	s, err := ecu.Session(ctx)
	if err != nil || s.Session != 3 || s.S3Expiries != 0 {
		t.Fatalf("session after %v of tester present: %+v, %v", time.Since(entered).Round(time.Millisecond), s, err)
	}
	st, err := tp.Stats(ctx)
	if err != nil || st.Sent < 10 || st.Errors != 0 {
		t.Fatalf("tester present stats after %v: %+v, %v", s3Hold, st, err)
	}

	if err := tp.Stop(ctx); err != nil {
		t.Fatalf("stop tester present: %v", err)
	}
	stopped := time.Now()
	r := rec.wait(t, s3FallBack+2*time.Second, msgIs(ecusim.LogS3Expiry))
	if d := r.Time.Sub(stopped); d > s3FallBack {
		t.Errorf("fell back %v after stop, want within %v", d, s3FallBack)
	}
	if a := attrs(r); a["from"].String() != "extendedDiagnosticSession" || a["service"].String() != ecusim.Name {
		t.Errorf("expiry record attributes %v", a)
	}
	s, err = ecu.Session(ctx)
	if err != nil || s.Session != 1 || s.S3Expiries != 1 {
		t.Fatalf("session after stop: %+v, %v", s, err)
	}
	est, err := ecu.Stats(ctx)
	if err != nil || est.S3Expiries != 1 || est.BySID["3E"] < 10 || est.BySID["3E"] != est.NoResponse {
		t.Errorf("ECU stats %+v, %v", est, err)
	}
}

func e2eCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	t.Cleanup(cancel)
	return ctx
}

// spawnECUSim spawns an ECU simulator with args, relaying its logs to rec,
// and returns its controller; both go at cleanup.
func spawnECUSim(t *testing.T, b *bus.Bus, rec *recorder, args string) *ecusim.Controller {
	t.Helper()
	h := spawnKind(t, b, rec, ecusim.Kind, args)
	c, err := ecusim.Connect(e2eCtx(t), b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// spawnTesterPresent spawns tester present with args like spawnECUSim.
func spawnTesterPresent(t *testing.T, b *bus.Bus, rec *recorder, args string) *testerpresent.Controller {
	t.Helper()
	h := spawnKind(t, b, rec, testerpresent.Kind, args)
	c, err := testerpresent.Connect(e2eCtx(t), b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func spawnKind(t *testing.T, b *bus.Bus, rec *recorder, kind, args string) *spawn.Handle {
	t.Helper()
	if _, ok := spawn.KindServiceName(kind); !ok {
		t.Fatalf("kind %q is not registered: TestMain must call services.RegisterAll()", kind)
	}
	h, err := spawn.RunKind(e2eCtx(t), b, kind, json.RawMessage(args), spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatalf("spawn %s: %v", kind, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Terminate(ctx); err != nil {
			t.Errorf("terminate %s: %v", kind, err)
		}
		if err := h.Err(); err != nil {
			t.Errorf("%s exited: %v", kind, err)
		}
	})
	return h
}
