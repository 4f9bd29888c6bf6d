package ecusim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// waitTimeout bounds every wait, so that a hang fails the test.
const waitTimeout = 10 * time.Second

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// harness is an ECU simulator served in-process.
type harness struct {
	svc  *ECUSimService
	ctl  *Controller
	logs *logRecorder
}

// serve serves the service of args on b until the test ends.
func serve(t testing.TB, b *bus.Bus, args Args) *harness {
	t.Helper()
	logs := newLogRecorder()
	svc, err := newService(args, slog.New(logs))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	bgkittest.Serve(t, b, svc, service.WithLogger(slog.New(logs)))
	ctl, err := Connect(testCtx(t), b, "")
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })
	return &harness{svc: svc, ctl: ctl, logs: logs}
}

// doipAddr is the address the DoIP entity listens on, from stats.
func (h *harness) doipAddr(t testing.TB) string {
	t.Helper()
	st, err := h.ctl.Stats(testCtx(t))
	if err != nil || st.DoIPAddress == "" || strings.HasSuffix(st.DoIPAddress, ":0") {
		t.Fatalf("stats doip_address %q, %v", st.DoIPAddress, err)
	}
	return st.DoIPAddress
}

// canTester is a tester on a CAN bus: a UDS client over ISO-TP 0x7E0/0x7E8
// and the Conn under it, for functional requests (0x7DF).
func canTester(t testing.TB, cb can.Bus) (*uds.Client, *isotp.Conn) {
	t.Helper()
	conn, err := isotp.New(cb, isotp.Config{TxID: 0x7E0, RxID: 0x7E8, FunctionalID: 0x7DF})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return uds.NewClient(conn, uds.WithP2(waitTimeout)), conn
}

// virtualTester is a canTester on the virtual bus spec of b.
func virtualTester(t testing.TB, b *bus.Bus, spec string) (*uds.Client, *isotp.Conn) {
	t.Helper()
	cb, err := can.Open(testCtx(t), spec, can.WithNATS(b.Conn()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cb.Close() })
	return canTester(t, cb)
}

// do sends req (hex) and returns the positive response in hex, or the
// error.
func do(t testing.TB, c *uds.Client, req string) (string, error) {
	t.Helper()
	resp, err := c.Do(testCtx(t), unhex(t, req))
	return fmt.Sprintf("% X", resp), err
}

func mustDo(t testing.TB, c *uds.Client, req, want string) {
	t.Helper()
	got, err := do(t, c, req)
	if err != nil || got != want {
		t.Fatalf("%s → %s, %v; want %s", req, got, err, want)
	}
}

func wantNRC(t testing.TB, c *uds.Client, req string, nrc uds.NRC) {
	t.Helper()
	_, err := do(t, c, req)
	var nr *uds.NegativeResponseError
	if !errors.As(err, &nr) || nr.NRC != nrc {
		t.Fatalf("%s → %v, want NRC %s", req, err, nrc)
	}
}

func TestServiceCAN(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{Bus: "virtual:ecu", Seed: "11223344", DIDs: map[hexid.ID]string{0x0102: "AABB", 0xF18C: "0102030405"}})
	c, _ := virtualTester(t, b, "virtual:ecu")
	ctx := testCtx(t)

	mustDo(t, c, "10 03", "50 03 00 32 01 F4")
	if got, err := h.ctl.Session(ctx); err != nil || got.Session != 3 || got.Name != "extendedDiagnosticSession" {
		t.Fatalf("session: %+v, %v", got, err)
	}
	vin, err := c.ReadDataByIdentifier(ctx, 0xF190)
	if err != nil || string(vin) != DefaultVIN {
		t.Fatalf("VIN %q, %v", vin, err)
	}
	lengths := func(did uint16) (int, bool) {
		n := map[uint16]int{0x0102: 2, 0xF18C: 5}[did]
		return n, n > 0
	}
	recs, err := c.ReadDataByIdentifiers(ctx, lengths, 0xF18C, 0x0102)
	if err != nil || len(recs) != 2 || !bytes.Equal(recs[0].Data, []byte{1, 2, 3, 4, 5}) || !bytes.Equal(recs[1].Data, []byte{0xAA, 0xBB}) {
		t.Fatalf("multi-DID read: %+v, %v", recs, err)
	}
	wantNRC(t, c, "22 12 34", uds.NRCRequestOutOfRange)
	if err := c.WriteDataByIdentifier(ctx, 0x0102, []byte{1, 2}); err != nil {
		t.Fatalf("write: %v", err)
	}
	if v, err := h.ctl.GetDID(ctx, 0x0102); err != nil || v != "0102" {
		t.Fatalf("get_did after the write: %q, %v", v, err)
	}
	wantNRC(t, c, "2E 01 02 01", uds.NRCIncorrectMessageLengthOrInvalidFormat)
	if err := c.Unlock(ctx, 1, func(seed []byte) ([]byte, error) { return xor(seed, []byte{0xAA, 0xBB, 0xCC, 0xDD}), nil }); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if got, _ := h.ctl.Session(ctx); !got.SecurityUnlocked {
		t.Fatalf("not unlocked: %+v", got)
	}
	wantNRC(t, c, "BA", uds.NRCServiceNotSupported)
	wantNRC(t, c, "10 05", uds.NRCSubFunctionNotSupported)
	wantNRC(t, c, "3E 00 00", uds.NRCIncorrectMessageLengthOrInvalidFormat)
	mustDo(t, c, "11 01", "51 01")

	st, err := h.ctl.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 12 || st.Resets != 1 || st.Session != 1 || st.SecurityUnlocked || st.BySID["22"] != 3 || st.ByNRC["31"] != 1 || st.DoIPAddress != "" {
		t.Errorf("stats %+v", st)
	}
	h.logs.wait(t, LogReset, waitTimeout)
}

func TestServiceS3Expiry(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{S3Ms: 100})
	c, _ := virtualTester(t, b, DefaultBus)
	ctx := testCtx(t)

	start := time.Now()
	mustDo(t, c, "10 03", "50 03 00 32 01 F4")
	rec := h.logs.wait(t, LogS3Expiry, waitTimeout)
	if d := rec.Time.Sub(start); d < 100*time.Millisecond {
		t.Errorf("expired %v after the session change, before S3", d)
	}
	got, err := h.ctl.Session(ctx)
	if err != nil || got.Session != 1 || got.S3Expiries != 1 {
		t.Fatalf("session after S3: %+v, %v", got, err)
	}
	// The default session does not expire: a request there arms nothing.
	mustDo(t, c, "3E 00", "7E 00")
	if st, _ := h.ctl.Stats(ctx); st.S3Expiries != 1 {
		t.Errorf("s3_expiries %d", st.S3Expiries)
	}
}

// Functional tester present (3E 80 on 0x7DF) keeps the session alive and
// gets no response; functional 3E 00 gets one, on tx_id.
func TestServiceFunctionalTesterPresent(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{S3Ms: 300})
	c, conn := virtualTester(t, b, DefaultBus)
	ctx := testCtx(t)

	mustDo(t, c, "10 03", "50 03 00 32 01 F4")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		<-tick.C
		if err := conn.SendFunctional(ctx, []byte{0x3E, 0x80}); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.SendFunctional(ctx, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
	// The first message received answers 3E 00: no 3E 80 got a response.
	resp, err := conn.Recv(ctx)
	if err != nil || !bytes.Equal(resp, []byte{0x7E, 0x00}) {
		t.Fatalf("response to functional 3E 00: % X, %v", resp, err)
	}
	got, err := h.ctl.Session(ctx)
	if err != nil || got.Session != 3 || got.S3Expiries != 0 {
		t.Fatalf("session after 1 s of tester present: %+v, %v", got, err)
	}
	st, _ := h.ctl.Stats(ctx)
	if st.BySID["3E"] < 10 || st.NoResponse != st.BySID["3E"]-1 {
		t.Errorf("stats %+v", st)
	}
}

func TestServiceDoIP(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{DoIPListen: "127.0.0.1:0", LogicalAddress: 0x1001, DIDs: map[hexid.ID]string{0x0102: "AABB"}})
	ctx := testCtx(t)

	addr := h.doipAddr(t)
	h.logs.wait(t, "ECU simulator ready", waitTimeout)
	dc, err := doip.Dial(ctx, addr, doip.ClientConfig{})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer dc.Close()
	if dc.EntityAddress() != 0x1001 {
		t.Errorf("entity address 0x%04X", dc.EntityAddress())
	}
	c := uds.NewClient(dc.DiagConn(0x1001), uds.WithP2(waitTimeout))
	mustDo(t, c, "10 03", "50 03 00 32 01 F4")
	mustDo(t, c, "22 01 02", "62 01 02 AA BB")
	wantNRC(t, c, "22 12 34", uds.NRCRequestOutOfRange)
	if got, _ := h.ctl.Session(ctx); got.Session != 3 {
		t.Fatalf("session %+v", got)
	}

	// Functional requests: no serviceNotSupported, an answer to 3E 00.
	fc := dc.FunctionalConn(uint16(DefaultFunctionalAddress))
	if err := fc.Send(ctx, []byte{0xBA}); err != nil {
		t.Fatal(err)
	}
	if err := fc.Send(ctx, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
	resp, err := fc.Recv(ctx)
	if err != nil || !bytes.Equal(resp, []byte{0x7E, 0x00}) {
		t.Fatalf("functional 3E 00 → % X, %v", resp, err)
	}
	st, err := h.ctl.Stats(ctx)
	if err != nil || st.DoIPAddress != addr || st.ByNRC["11"] != 1 || st.Negative != 1 {
		t.Errorf("stats %+v, %v", st, err)
	}
}

// Requests over CAN and DoIP share one ECU.
func TestServiceCANAndDoIP(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{DoIPListen: "127.0.0.1:0", S3Ms: 60_000})
	ctx := testCtx(t)
	addr := h.doipAddr(t)
	dc, err := doip.Dial(ctx, addr, doip.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	ip := uds.NewClient(dc.DiagConn(doip.DefaultEntityAddress), uds.WithP2(waitTimeout))
	cn, _ := virtualTester(t, b, DefaultBus)

	mustDo(t, ip, "10 03", "50 03 00 32 01 F4")
	wantNRC(t, cn, "11 04", uds.NRCSubFunctionNotSupported)
	mustDo(t, cn, "2E F1 90 "+vinHex, "6E F1 90") // allowed: DoIP set the extended session
	mustDo(t, ip, "11 03", "51 03")
	wantNRC(t, cn, "2E F1 90 "+vinHex, uds.NRCServiceNotSupportedInActiveSession)
}

func TestServiceMethods(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{})
	c, _ := virtualTester(t, b, DefaultBus)
	ctx := testCtx(t)

	if err := h.ctl.Call(ctx, "set_did", json.RawMessage(`{"did": "0x4242", "data": "01 02 03"}`), nil); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c, "22 42 42", "62 42 42 01 02 03")
	// get_did takes the DID alone, in any of the hex forms, and answers
	// the DID in hex with its value.
	for _, in := range []string{`"4242"`, `"0x4242"`, `16962`} {
		var v json.RawMessage
		if err := h.ctl.Call(ctx, "get_did", json.RawMessage(in), &v); err != nil || string(v) != `{"did":"0x4242","data":"010203"}` {
			t.Fatalf("get_did %s: %s, %v", in, v, err)
		}
	}
	if v, err := h.ctl.GetDID(ctx, 0x4242); err != nil || v != "010203" {
		t.Fatalf("GetDID %q, %v", v, err)
	}
	if st, err := h.ctl.Stats(ctx); err != nil || st.DoIPAddress != "" {
		t.Fatalf("doip address without DoIP: %+v, %v", st, err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"set_did bad DID", func() error { return h.ctl.SetDID(ctx, 0x1FFFF, "00") }},
		{"set_did bad data", func() error { return h.ctl.SetDID(ctx, 0x4242, "0") }},
		{"set_did empty data", func() error { return h.ctl.SetDID(ctx, 0x4242, "") }},
		{"get_did unknown", func() error { _, err := h.ctl.GetDID(ctx, 0x9999); return err }},
		{"get_did too long", func() error { _, err := h.ctl.GetDID(ctx, 0x10000); return err }},
		{"get_did not hex", func() error { return h.ctl.Call(ctx, "get_did", "XXXX", nil) }},
		{"get_did object", func() error { return h.ctl.Call(ctx, "get_did", struct{}{}, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, controller.ErrBadRequest) {
				t.Fatalf("error %v, want a bad request", err)
			}
		})
	}
}

// The serving loop over an in-process hub, without NATS: segmented
// messages both ways, and a failed reception that is counted while the
// ECU goes on.
func TestServeISOTPHub(t *testing.T) {
	long := bytes.Repeat([]byte{0x5A}, 200)
	s, err := newService(Args{DIDs: map[hexid.ID]string{0x0100: fmt.Sprintf("%X", long)}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tn := servedISOTP(t, s, func(b can.Bus) can.Bus { return b })
	c, _ := canTester(t, tn)
	mustDo(t, c, "10 03", "50 03 00 32 01 F4")
	got, err := c.ReadDataByIdentifier(testCtx(t), 0x0100)
	if err != nil || !bytes.Equal(got, long) {
		t.Fatalf("long read: %d bytes, %v", len(got), err)
	}
	if err := c.WriteDataByIdentifier(testCtx(t), 0x0100, bytes.Repeat([]byte{0xA5}, 200)); err != nil {
		t.Fatalf("long write: %v", err)
	}

	// A first frame that a single frame interrupts: the reception fails,
	// the single frame is answered.
	ff := can.Frame{ID: 0x7E0, Len: 8, Data: [64]byte{0x10, 0x20, 0x22, 0xF1, 0x90, 0xF1, 0x90, 0xF1}}
	if err := tn.Send(testCtx(t), ff); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c, "3E 00", "7E 00")
	if st := s.ecu.stats(); st.RxErrors != 1 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
	// Frames on other identifiers are not for the ECU.
	other := can.Frame{ID: 0x7E1, Len: 3, Data: [64]byte{0x02, 0x3E, 0x00}}
	if err := tn.Send(testCtx(t), other); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c, "3E 00", "7E 00")
	if st := s.ecu.stats(); st.Requests != 5 {
		t.Errorf("requests %d", st.Requests)
	}
}

// A bus that cannot be opened fails Initialize with the reason, and
// leaves nothing running.
func TestServiceInitializeFails(t *testing.T) {
	b := bgkittest.Bus(t)
	svc, err := newService(Args{Bus: "socketcan:nosuchcan0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = service.Run(testCtx(t), b, svc, service.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil {
		t.Fatal("Run succeeded on a missing interface")
	}
	svc2, err := newService(Args{Bus: "virtual:x", DoIPListen: "256.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := service.Run(testCtx(t), b, svc2, service.WithLogger(slog.New(slog.DiscardHandler))); err == nil {
		t.Fatal("Run succeeded on a bad DoIP address")
	}
	if err := svc2.Shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

// Over CAN, requests on func_id (0x7DF) are functional: ISO 14229-1 leaves
// out the negative responses 0x11, 0x12, 0x31, 0x7E and 0x7F to them, and
// the suppressPosRspMsgIndicationBit drops positive responses on either
// addressing. The first response the tester receives must be the one to
// the last request: none of the others was answered.
func TestServiceCANFunctionalNRCs(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{})
	c, conn := virtualTester(t, b, DefaultBus)
	ctx := testCtx(t)

	for _, req := range []string{
		"BA",       // serviceNotSupported
		"3E 05",    // subFunctionNotSupported
		"3E 85",    // subFunctionNotSupported, suppress bit set
		"22 12 34", // requestOutOfRange
		"27 01",    // serviceNotSupportedInActiveSession
		"3E 80",    // positive response suppressed
		"10 81",    // positive response suppressed
	} {
		if err := conn.SendFunctional(ctx, unhex(t, req)); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.SendFunctional(ctx, unhex(t, "22 12")); err != nil {
		t.Fatal(err)
	}
	resp, err := conn.Recv(ctx)
	if err != nil || !bytes.Equal(resp, []byte{0x7F, 0x22, 0x13}) {
		t.Fatalf("first response: % X, %v; want 7F 22 13 (the only one not suppressed)", resp, err)
	}
	st, err := h.ctl.Stats(ctx)
	if err != nil || st.Requests != 8 || st.NoResponse != 7 || st.Negative != 1 {
		t.Errorf("stats %+v, %v", st, err)
	}
	// Physically, the negative responses are sent, suppress bit or not;
	// positive ones are not when the bit is set.
	wantNRC(t, c, "3E 85", uds.NRCSubFunctionNotSupported)
	if err := conn.Send(ctx, unhex(t, "11 81")); err != nil {
		t.Fatal(err)
	}
	wantNRC(t, c, "BA", uds.NRCServiceNotSupported) // the first response after 11 81
	if st, _ := h.ctl.Stats(ctx); st.Resets != 1 {
		t.Errorf("11 81 not handled: %+v", st)
	}
}

// A DoIP response to a functionally addressed request (0xE400) comes from
// the entity's own logical address (ISO 13400-2), so a tester reading the
// entity's physical address receives it.
func TestServiceDoIPFunctionalSource(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{DoIPListen: "127.0.0.1:0", LogicalAddress: 0x1001})
	ctx := testCtx(t)
	addr := h.doipAddr(t)
	dc, err := doip.Dial(ctx, addr, doip.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	phys := dc.DiagConn(0x1001)
	if err := dc.DiagConn(uint16(DefaultFunctionalAddress)).Send(ctx, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := phys.Recv(rctx)
	if err != nil || !bytes.Equal(resp, []byte{0x7E, 0x00}) {
		t.Fatalf("response from 0x1001 to functional 3E 00: % X, %v", resp, err)
	}
}

// eventSub records the events of service name on topic, from a plain NATS
// subscription to evt.<NAME>.<topic>.
func eventSub(t testing.TB, b *bus.Bus, name, topic string) chan []byte {
	t.Helper()
	ch := make(chan []byte, 64)
	sub, err := b.Conn().Subscribe(bus.EventSubject(name, topic), func(m *nats.Msg) { ch <- m.Data })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return ch
}

func nextEvent(t testing.TB, ch chan []byte) string {
	t.Helper()
	select {
	case d := <-ch:
		return string(d)
	case <-time.After(waitTimeout):
		t.Fatal("no event")
		return ""
	}
}

func TestServiceEvents(t *testing.T) {
	b := bgkittest.Bus(t)
	sessions := eventSub(t, b, Name, TopicSessionChanged)
	unlocks := eventSub(t, b, Name, TopicSecurityUnlocked)
	serve(t, b, Args{S3Ms: 200, Seed: "11223344"})
	c, _ := virtualTester(t, b, DefaultBus)
	ctx := testCtx(t)

	mustDo(t, c, "10 03", "50 03 00 32 01 F4")
	mustDo(t, c, "10 03", "50 03 00 32 01 F4") // no change: no event
	if err := c.Unlock(ctx, 1, func(seed []byte) ([]byte, error) { return xor(seed, []byte{0xAA, 0xBB, 0xCC, 0xDD}), nil }); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c, "11 01", "51 01")
	mustDo(t, c, "11 01", "51 01") // already default: no event
	mustDo(t, c, "10 02", "50 02 00 32 01 F4")
	for i, want := range []string{
		`{"from":1,"to":3,"cause":"request"}`,
		`{"from":3,"to":1,"cause":"reset"}`,
		`{"from":1,"to":2,"cause":"request"}`,
		`{"from":2,"to":1,"cause":"s3"}`,
	} {
		if got := nextEvent(t, sessions); got != want {
			t.Fatalf("session event %d: %s, want %s", i, got, want)
		}
	}
	if got := nextEvent(t, unlocks); got != `{"level":1}` {
		t.Fatalf("security event %s", got)
	}
	select {
	case e := <-sessions:
		t.Fatalf("extra session event %s", e)
	default:
	}
}

// The method DoIPAddress is the endpoint doip_address, by EndpointNames.
// (It passes once service honours EndpointNames, built on another branch.)
func TestServiceDoIPAddressEndpoint(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{DoIPListen: "127.0.0.1:0"})
	addr, err := h.ctl.DoIPAddress(testCtx(t))
	if err != nil || addr != h.doipAddr(t) {
		t.Fatalf("doip_address %q, %v", addr, err)
	}
	h2 := serve(t, bgkittest.Bus(t), Args{})
	if addr, err := h2.ctl.DoIPAddress(testCtx(t)); err != nil || addr != "" {
		t.Fatalf("doip_address without DoIP: %q, %v", addr, err)
	}
}

// fcFails is a bus node whose sends of flow control frames fail, as on a
// bus whose transmit queue is full for a moment.
type fcFails struct{ can.Bus }

func (b fcFails) Send(ctx context.Context, f can.Frame) error {
	if f.Len > 0 && f.Data[0]>>4 == 3 {
		return errors.New("transmit queue full")
	}
	return b.Bus.Send(ctx, f)
}

// A reception whose flow control could not be sent fails alone: the ECU
// counts it and answers the next request.
func TestServeISOTPGoesOnAfterAFailedFlowControl(t *testing.T) {
	s, err := newService(Args{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tn := servedISOTP(t, s, func(b can.Bus) can.Bus { return fcFails{b} })
	c, _ := canTester(t, tn)
	ff := can.Frame{ID: 0x7E0, Len: 8, Data: [64]byte{0x10, 0x20, 0x2E, 0xF1, 0x90, 0xF1, 0x90, 0xF1}}
	if err := tn.Send(testCtx(t), ff); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c, "3E 00", "7E 00")
	if st := s.ecu.stats(); st.RxErrors != 1 {
		t.Errorf("stats %+v, want the failed reception counted", st)
	}
}

// servedISOTP runs s's ISO-TP loop on a node of a fresh hub (wrapped by
// wrap) until the test ends, and returns a tester's node on that hub.
func servedISOTP(t *testing.T, s *ECUSimService, wrap func(can.Bus) can.Bus) *can.HubNode {
	t.Helper()
	t.Cleanup(s.ecu.close)
	hub := can.NewHub()
	node := hub.Attach(s.filters...)
	conn, err := isotp.New(wrap(node), s.tp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.serveISOTP(ctx, conn) }()
	tn := hub.Attach()
	t.Cleanup(func() {
		tn.Close()
		cancel()
		<-done
		conn.Close()
		node.Close()
	})
	return tn
}

// The simulator is one ECU with DoIP, not a gateway to others: its entity
// status response (ISO 13400-2:2019 Table 11, payload type 0x4002) says
// node type 0x01, DoIP node (0x00 is a DoIP gateway). Bytes checked on the
// wire of the entity built from the configuration, on a UDP port of its
// own (for 127.0.0.1:0 the service's UDP port is not published).
func TestDoIPEntityIsNode(t *testing.T) {
	s, err := New(Args{DoIPListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.ecu.close()
	cfg := *s.doipCfg
	cfg.UDPAddr = "127.0.0.1:0"
	srv, err := doip.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	conn, err := net.Dial("udp", srv.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	// Entity status request (Table 10): header 02 FD 40 01, no payload.
	if _, err := conn.Write(unhex(t, "02 FD 40 01 00 00 00 00")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	// Header 02 FD 40 02, length 7; node type 01, 4 sockets at most, 0
	// open, max data size 0x00010004 (doip.DefaultMaxPayload).
	if want := unhex(t, "02 FD 40 02 00 00 00 07 01 04 00 00 01 00 04"); !bytes.Equal(buf[:n], want) {
		t.Fatalf("entity status % X, want % X", buf[:n], want)
	}
}
