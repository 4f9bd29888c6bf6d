package uds_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bgkit/bgkit/uds"
)

// step is one message a scripted ECU sends, after a delay.
type step struct {
	after time.Duration
	msg   string
}

// scriptedECU receives one request on ecu, checks it is want, then sends
// the steps. It runs in its own goroutine; the test ends after it.
func scriptedECU(t *testing.T, ecu *pipe, want []byte, steps []step) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		ctx := context.Background()
		req, err := ecu.Recv(ctx)
		if err != nil {
			t.Errorf("ECU receive: %v", err)
			return
		}
		if !bytes.Equal(req, want) {
			t.Errorf("ECU received % X, want % X", req, want)
		}
		for _, s := range steps {
			time.Sleep(s.after)
			if err := ecu.Send(ctx, unhex(t, s.msg)); err != nil {
				t.Errorf("ECU send: %v", err)
				return
			}
		}
	}()
}

func TestClientDo(t *testing.T) {
	const ms = time.Millisecond
	pending := func(sid string) string { return "7F " + sid + " 78" }
	tests := []struct {
		name        string
		req         string
		ecu         []step
		want        string // the positive response; "" for none
		wantErr     error
		wantElapsed time.Duration
	}{
		{name: "positive within P2", req: "22 F1 90", ecu: []step{{10 * ms, "62 F1 90 01 02"}},
			want: "62 F1 90 01 02", wantElapsed: 10 * ms},
		{name: "no response: P2 timeout", req: "22 F1 90",
			wantErr: uds.ErrTimeout, wantElapsed: 50 * ms},
		{name: "response after P2", req: "22 F1 90", ecu: []step{{60 * ms, "62 F1 90 01"}},
			wantErr: uds.ErrTimeout, wantElapsed: 50 * ms},
		{name: "pending extends to P2* each time", req: "31 01 FF 00", ecu: []step{
			{40 * ms, pending("31")}, {4000 * ms, pending("31")}, {4500 * ms, "71 01 FF 00 00"}},
			want: "71 01 FF 00 00", wantElapsed: 8540 * ms},
		{name: "P2* timeout after pending", req: "31 01 FF 00", ecu: []step{{40 * ms, pending("31")}},
			wantErr: uds.ErrTimeout, wantElapsed: 5040 * ms},
		{name: "response after P2*", req: "31 01 FF 00", ecu: []step{{40 * ms, pending("31")}, {5001 * ms, "71 01 FF 00"}},
			wantErr: uds.ErrTimeout, wantElapsed: 5040 * ms},
		{name: "negative response", req: "22 F1 90", ecu: []step{{5 * ms, "7F 22 31"}},
			wantErr: &uds.NegativeResponseError{SID: uds.SIDReadDataByIdentifier, NRC: uds.NRCRequestOutOfRange}, wantElapsed: 5 * ms},
		{name: "negative after pending", req: "27 02 01 02", ecu: []step{{5 * ms, pending("27")}, {1000 * ms, "7F 27 35"}},
			wantErr: &uds.NegativeResponseError{SID: uds.SIDSecurityAccess, NRC: uds.NRCInvalidKey}, wantElapsed: 1005 * ms},
		{name: "stale messages discarded", req: "22 F1 90", ecu: []step{
			{1 * ms, "50 03 00 32 01 F4"}, // another service's response
			{1 * ms, "7F 10 31"},          // another service's negative response
			{1 * ms, "7F 22 78"[:5]},      // truncated negative response
			{1 * ms, "62 F1 91 00"},       // another DID
			{1 * ms, ""},                  // empty
			{1 * ms, "62 F1 90 AA"}},
			want: "62 F1 90 AA", wantElapsed: 6 * ms},
		{name: "stale message does not extend P2", req: "22 F1 90", ecu: []step{{30 * ms, "50 03 00 32 01 F4"}, {30 * ms, "62 F1 90 AA"}},
			wantErr: uds.ErrTimeout, wantElapsed: 50 * ms},
		{name: "stale pending of another service ignored", req: "22 F1 90", ecu: []step{{30 * ms, "7F 31 78"}, {30 * ms, "62 F1 90 AA"}},
			wantErr: uds.ErrTimeout, wantElapsed: 50 * ms},
		{name: "sub-function echo must match", req: "10 03", ecu: []step{{1 * ms, "50 01 00 32 01 F4"}, {1 * ms, "50 03 00 32 01 F4"}},
			want: "50 03 00 32 01 F4", wantElapsed: 2 * ms},
		{name: "routine id echo must match", req: "31 01 FF 00", ecu: []step{{1 * ms, "71 01 FF 01"}, {1 * ms, "71 02 FF 00"}, {1 * ms, "71 01 FF 00"}},
			want: "71 01 FF 00", wantElapsed: 3 * ms},
		{name: "short positive response passed on", req: "22 F1 90", ecu: []step{{1 * ms, "62 F1"}},
			want: "62 F1", wantElapsed: 1 * ms},
		{name: "suppressed: no response", req: "3E 80",
			want: "", wantElapsed: 50 * ms},
		{name: "suppressed: negative response within P2", req: "3E 80", ecu: []step{{10 * ms, "7F 3E 12"}},
			wantErr: &uds.NegativeResponseError{SID: uds.SIDTesterPresent, NRC: uds.NRCSubFunctionNotSupported}, wantElapsed: 10 * ms},
		{name: "suppressed: negative response after P2 ignored", req: "3E 80", ecu: []step{{60 * ms, "7F 3E 12"}},
			want: "", wantElapsed: 50 * ms},
		{name: "suppressed: pending then positive", req: "31 81 FF 00", ecu: []step{{10 * ms, pending("31")}, {100 * ms, "71 01 FF 00"}},
			want: "71 01 FF 00", wantElapsed: 110 * ms},
		{name: "suppressed: pending then nothing", req: "31 81 FF 00", ecu: []step{{10 * ms, pending("31")}},
			wantErr: uds.ErrTimeout, wantElapsed: 5010 * ms},
		{name: "suppressed: positive anyway", req: "3E 80", ecu: []step{{10 * ms, "7E 00"}},
			want: "7E 00", wantElapsed: 10 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cl, ecu := newPipe()
				req := unhex(t, tt.req)
				scriptedECU(t, ecu, req, tt.ecu)
				c := uds.NewClient(cl)
				start := time.Now()
				resp, err := c.Do(t.Context(), req)
				elapsed := time.Since(start)
				checkErr(t, err, tt.wantErr)
				if want := unhex(t, tt.want); !bytes.Equal(resp, want) || (tt.want == "") != (resp == nil) {
					t.Errorf("response % X, want % X", resp, want)
				}
				if elapsed != tt.wantElapsed {
					t.Errorf("returned after %v, want %v", elapsed, tt.wantElapsed)
				}
			})
		})
	}
}

// checkErr checks that err matches want: nil, the same
// *NegativeResponseError, or an error that errors.Is want.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	var wantNR *uds.NegativeResponseError
	switch {
	case errors.As(want, &wantNR):
		var nr *uds.NegativeResponseError
		if !errors.As(err, &nr) || *nr != *wantNR {
			t.Errorf("error %v, want %v", err, want)
		}
	case !errors.Is(err, want):
		t.Errorf("error %v, want %v", err, want)
	}
}

func TestClientContext(t *testing.T) {
	t.Run("canceled while waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cl, ecu := newPipe()
			scriptedECU(t, ecu, unhex(t, "22 F1 90"), nil)
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(10*time.Millisecond, cancel)
			_, err := uds.NewClient(cl).Do(ctx, unhex(t, "22 F1 90"))
			if !errors.Is(err, context.Canceled) || errors.Is(err, uds.ErrTimeout) {
				t.Errorf("error %v, want context.Canceled", err)
			}
		})
	})
	t.Run("deadline before P2", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cl, ecu := newPipe()
			scriptedECU(t, ecu, unhex(t, "22 F1 90"), nil)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := uds.NewClient(cl).Do(ctx, unhex(t, "22 F1 90"))
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, uds.ErrTimeout) {
				t.Errorf("error %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d != 20*time.Millisecond {
				t.Errorf("returned after %v, want 20ms", d)
			}
		})
	})
	t.Run("canceled while waiting for another request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cl, ecu := newPipe()
			c := uds.NewClient(cl, uds.WithP2(time.Second))
			scriptedECU(t, ecu, unhex(t, "22 F1 90"), []step{{500 * time.Millisecond, "62 F1 90 01"}})
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, err := c.Do(t.Context(), unhex(t, "22 F1 90")); err != nil {
					t.Errorf("first request: %v", err)
				}
			})
			synctest.Wait() // the first request is in flight
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			if _, err := c.Do(ctx, unhex(t, "22 F1 91")); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("second request: %v, want context.DeadlineExceeded", err)
			}
			wg.Wait()
			if n := ecu.queued(); n != 0 {
				t.Errorf("the second request was sent (%d queued)", n)
			}
		})
	})
}

// failingTransport fails every Send or Recv with its errors.
type failingTransport struct{ sendErr, recvErr error }

func (f failingTransport) Send(context.Context, []byte) error { return f.sendErr }

func (f failingTransport) Recv(context.Context) ([]byte, error) { return nil, f.recvErr }

func TestClientTransportErrors(t *testing.T) {
	errBroken := errors.New("broken")
	tests := []struct {
		name    string
		t       uds.Transport
		req     []byte
		wantErr error
	}{
		{name: "send", t: failingTransport{sendErr: errBroken}, req: []byte{0x3E, 0x00}, wantErr: errBroken},
		{name: "receive", t: failingTransport{recvErr: errBroken}, req: []byte{0x3E, 0x00}, wantErr: errBroken},
		{name: "receive with suppressed response", t: failingTransport{recvErr: errBroken}, req: []byte{0x3E, 0x80}, wantErr: errBroken},
		{name: "empty request", t: failingTransport{}, req: nil, wantErr: uds.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := uds.NewClient(tt.t).Do(t.Context(), tt.req)
			if !errors.Is(err, tt.wantErr) || errors.Is(err, uds.ErrTimeout) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestClientConcurrentSerialised sends requests from several goroutines
// and checks that the ECU never sees a request before it answered the
// previous one, and that every caller gets its own response.
func TestClientConcurrentSerialised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 8
		const latency = 5 * time.Millisecond
		cl, ecu := newPipe()
		c := uds.NewClient(cl)
		go func() {
			for range callers {
				req, err := ecu.Recv(t.Context())
				if err != nil {
					t.Errorf("ECU receive: %v", err)
					return
				}
				time.Sleep(latency) // every caller runs meanwhile
				if n := ecu.queued(); n != 0 {
					t.Errorf("%d requests sent before the response to % X", n, req)
				}
				resp := append([]byte{0x62}, req[1], req[2], req[2]^0xFF)
				if err := ecu.Send(t.Context(), resp); err != nil {
					t.Errorf("ECU send: %v", err)
					return
				}
			}
		}()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range callers {
			did := uint16(0xF100 + i)
			wg.Go(func() {
				data, err := c.ReadDataByIdentifier(t.Context(), did)
				if err != nil {
					t.Errorf("read 0x%04X: %v", did, err)
					return
				}
				if want := []byte{byte(did) ^ 0xFF}; !bytes.Equal(data, want) {
					t.Errorf("read 0x%04X = % X, want % X", did, data, want)
				}
			})
		}
		wg.Wait()
		if d, want := time.Since(start), callers*latency; d != want {
			t.Errorf("took %v, want %v: one request at a time", d, want)
		}
	})
}

// TestClientConcurrentRace runs concurrent callers against a real server
// without a synctest bubble, for the race detector.
func TestClientConcurrentRace(t *testing.T) {
	cl, srv := newPipe()
	s := uds.NewServer()
	s.Handle(uds.SIDReadDataByIdentifier, func(_ context.Context, req []byte) ([]byte, error) {
		return append([]byte{0x62}, req[1], req[2], req[2]), nil
	})
	serve(t, s, srv)
	c := uds.NewClient(cl, uds.WithP2(time.Second)) // real time: generous for -race on a busy machine
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				did := uint16(i<<8 | j)
				data, err := c.ReadDataByIdentifier(t.Context(), did)
				if err != nil || len(data) != 1 || data[0] != byte(j) {
					t.Errorf("read 0x%04X = % X, %v", did, data, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestClientTiming(t *testing.T) {
	dsc := []step{{time.Millisecond, "50 03 00 64 00 C8"}} // P2 100 ms, P2* 2 s
	t.Run("defaults", func(t *testing.T) {
		p2, p2Star := uds.NewClient(nil).Timing()
		if p2 != 50*time.Millisecond || p2Star != 5*time.Second {
			t.Errorf("Timing() = %v, %v; want 50ms, 5s", p2, p2Star)
		}
	})
	t.Run("options", func(t *testing.T) {
		p2, p2Star := uds.NewClient(nil, uds.WithP2(time.Second), uds.WithP2Star(time.Minute), uds.WithP2(-1)).Timing()
		if p2 != time.Second || p2Star != time.Minute {
			t.Errorf("Timing() = %v, %v; want 1s, 1m", p2, p2Star)
		}
	})
	t.Run("session timing ignored by default", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cl, ecu := newPipe()
			scriptedECU(t, ecu, unhex(t, "10 03"), dsc)
			c := uds.NewClient(cl)
			resp, err := c.DiagnosticSessionControl(t.Context(), uds.ExtendedDiagnosticSession)
			if err != nil {
				t.Fatal(err)
			}
			if resp.P2 != 100*time.Millisecond || resp.P2Star != 2*time.Second {
				t.Errorf("response timing %v, %v", resp.P2, resp.P2Star)
			}
			if p2, p2Star := c.Timing(); p2 != uds.DefaultP2 || p2Star != uds.DefaultP2Star {
				t.Errorf("Timing() = %v, %v; want the defaults", p2, p2Star)
			}
		})
	})
	t.Run("session timing adopted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cl, ecu := newPipe()
			scriptedECU(t, ecu, unhex(t, "10 03"), dsc)
			c := uds.NewClient(cl, uds.WithSessionTiming(10*time.Millisecond))
			if _, err := c.DiagnosticSessionControl(t.Context(), uds.ExtendedDiagnosticSession); err != nil {
				t.Fatal(err)
			}
			if p2, p2Star := c.Timing(); p2 != 110*time.Millisecond || p2Star != 2010*time.Millisecond {
				t.Errorf("Timing() = %v, %v; want 110ms, 2.01s", p2, p2Star)
			}
			// A response after 80 ms now arrives in time.
			scriptedECU(t, ecu, unhex(t, "22 F1 90"), []step{{80 * time.Millisecond, "62 F1 90 01"}})
			if _, err := c.ReadDataByIdentifier(t.Context(), 0xF190); err != nil {
				t.Errorf("read after adopting P2: %v", err)
			}
		})
	})
}

// serve runs s on t until the test ends.
func serve(tb testing.TB, s *uds.Server, t uds.Transport) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, t) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			tb.Errorf("Serve: %v, want context.Canceled", err)
		}
	})
}

// ecuSim is a Server with a handler for every service the client has a
// helper for.
func ecuSim(t *testing.T) *uds.Server {
	s := uds.NewServer()
	var mu sync.Mutex
	data := map[uint16][]byte{0xF190: vin, 0xF18C: []byte("SN42")}
	unlocked := false
	seed := []byte{0x12, 0x34}
	s.HandleSubFunction(uds.SIDDiagnosticSessionControl, byte(uds.ExtendedDiagnosticSession), func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.DiagnosticSessionControlRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		return uds.DiagnosticSessionControlResponse{Session: req.Session, P2: 50 * time.Millisecond, P2Star: 5 * time.Second}.MarshalBinary()
	})
	s.Handle(uds.SIDECUReset, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.ECUResetRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		resp := uds.ECUResetResponse{Type: req.Type}
		if req.Type == uds.EnableRapidPowerShutDown {
			resp.PowerDownTime = 3
		}
		return resp.MarshalBinary()
	})
	s.Handle(uds.SIDClearDiagnosticInformation, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.ClearDiagnosticInformationRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		if req.Group != uds.GroupAllDTCs {
			return nil, uds.NRCRequestOutOfRange
		}
		return uds.ClearDiagnosticInformationResponse{}.MarshalBinary()
	})
	dtcs := []uds.DTCRecord{{DTC: 0x012345, Status: 0x09}, {DTC: 0xC12300, Status: 0x00}}
	s.Handle(uds.SIDReadDTCInformation, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.ReadDTCInformationRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		var match []uds.DTCRecord
		for _, d := range dtcs {
			if d.Status&req.StatusMask != 0 || req.Report == uds.ReportSupportedDTC {
				match = append(match, d)
			}
		}
		if req.Report == uds.ReportNumberOfDTCByStatusMask {
			return uds.DTCCountResponse{Report: req.Report, AvailabilityMask: 0x7F, Format: uds.DTCFormatISO14229, Count: uint16(len(match))}.MarshalBinary()
		}
		return uds.DTCListResponse{Report: req.Report, AvailabilityMask: 0x7F, DTCs: match}.MarshalBinary()
	})
	s.Handle(uds.SIDReadDataByIdentifier, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.ReadDataByIdentifierRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		var resp uds.ReadDataByIdentifierResponse
		for _, did := range req.DIDs {
			v, ok := data[did]
			if !ok {
				return nil, uds.NRCRequestOutOfRange
			}
			resp.Records = append(resp.Records, uds.DataRecord{DID: did, Data: v})
		}
		return resp.MarshalBinary()
	})
	s.Handle(uds.SIDWriteDataByIdentifier, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.WriteDataByIdentifierRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if !unlocked {
			return nil, uds.NRCSecurityAccessDenied
		}
		data[req.DID] = req.Data
		return uds.WriteDataByIdentifierResponse{DID: req.DID}.MarshalBinary()
	})
	s.Handle(uds.SIDSecurityAccess, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.SecurityAccessRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		switch req.Level {
		case 0x01:
			if unlocked {
				return uds.SecurityAccessResponse{Level: 0x01, Seed: []byte{0, 0}}.MarshalBinary()
			}
			return uds.SecurityAccessResponse{Level: 0x01, Seed: seed}.MarshalBinary()
		case 0x02:
			if !bytes.Equal(req.Data, []byte{^seed[0], ^seed[1]}) {
				return nil, uds.NRCInvalidKey
			}
			unlocked = true
			return uds.SecurityAccessResponse{Level: 0x02}.MarshalBinary()
		}
		return nil, uds.NRCSubFunctionNotSupported
	})
	s.Handle(uds.SIDCommunicationControl, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.CommunicationControlRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		return uds.CommunicationControlResponse{Control: req.Control}.MarshalBinary()
	})
	s.Handle(uds.SIDRoutineControl, func(ctx context.Context, b []byte) ([]byte, error) {
		var req uds.RoutineControlRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		if req.RoutineID != 0xFF00 {
			return nil, uds.NRCRequestOutOfRange
		}
		if req.Type == uds.StartRoutine {
			// A slow routine: ask for time.
			if err := uds.ResponsePending(ctx); err != nil {
				return nil, err
			}
		}
		return uds.RoutineControlResponse{Type: req.Type, RoutineID: req.RoutineID, Status: []byte{0x00}}.MarshalBinary()
	})
	s.Handle(uds.SIDControlDTCSetting, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.ControlDTCSettingRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		return uds.ControlDTCSettingResponse{Type: req.Type}.MarshalBinary()
	})
	return s
}

// TestClientServer runs every typed client helper against a Server over
// the in-memory transport.
// It runs in a synctest bubble, so suppressed responses cost no real time.
func TestClientServer(t *testing.T) {
	synctest.Test(t, testClientServer)
}

func testClientServer(t *testing.T) {
	cl, srv := newPipe()
	serve(t, ecuSim(t), srv)
	c := uds.NewClient(cl)
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	dsc, err := c.DiagnosticSessionControl(ctx, uds.ExtendedDiagnosticSession)
	must("DiagnosticSessionControl", err)
	if dsc.Session != uds.ExtendedDiagnosticSession || dsc.P2 != 50*time.Millisecond || dsc.P2Star != 5*time.Second {
		t.Errorf("DiagnosticSessionControl = %+v", dsc)
	}
	_, err = c.DiagnosticSessionControl(ctx, uds.ProgrammingSession)
	checkErr(t, err, &uds.NegativeResponseError{SID: uds.SIDDiagnosticSessionControl, NRC: uds.NRCSubFunctionNotSupported})

	must("TesterPresent", c.TesterPresent(ctx, false))
	must("TesterPresent suppressed", c.TesterPresent(ctx, true))

	got, err := c.ReadDataByIdentifier(ctx, 0xF190)
	must("ReadDataByIdentifier", err)
	if !bytes.Equal(got, vin) {
		t.Errorf("ReadDataByIdentifier = %q", got)
	}
	_, err = c.ReadDataByIdentifier(ctx, 0x1234)
	checkErr(t, err, &uds.NegativeResponseError{SID: uds.SIDReadDataByIdentifier, NRC: uds.NRCRequestOutOfRange})
	lengths := map[uint16]int{0xF190: len(vin), 0xF18C: 4}
	recs, err := c.ReadDataByIdentifiers(ctx, func(did uint16) (int, bool) { n, ok := lengths[did]; return n, ok }, 0xF18C, 0xF190)
	must("ReadDataByIdentifiers", err)
	if len(recs) != 2 || recs[0].DID != 0xF18C || string(recs[0].Data) != "SN42" || string(recs[1].Data) != string(vin) {
		t.Errorf("ReadDataByIdentifiers = %+v", recs)
	}

	err = c.WriteDataByIdentifier(ctx, 0xF18C, []byte("SN43"))
	checkErr(t, err, &uds.NegativeResponseError{SID: uds.SIDWriteDataByIdentifier, NRC: uds.NRCSecurityAccessDenied})
	err = c.SendKey(ctx, 0x02, []byte{0, 0})
	checkErr(t, err, &uds.NegativeResponseError{SID: uds.SIDSecurityAccess, NRC: uds.NRCInvalidKey})
	key := func(seed []byte) ([]byte, error) { return []byte{^seed[0], ^seed[1]}, nil }
	must("Unlock", c.Unlock(ctx, 0x01, key))
	must("Unlock again (zero seed)", c.Unlock(ctx, 0x01, func([]byte) ([]byte, error) {
		return nil, errors.New("key asked for an unlocked level")
	}))
	if _, err := c.RequestSeed(ctx, 0x02); !errors.Is(err, uds.ErrInvalidValue) {
		t.Errorf("RequestSeed(even) = %v, want ErrInvalidValue", err)
	}
	must("WriteDataByIdentifier", c.WriteDataByIdentifier(ctx, 0xF18C, []byte("SN43")))
	if got, err := c.ReadDataByIdentifier(ctx, 0xF18C); err != nil || string(got) != "SN43" {
		t.Errorf("read back = %q, %v", got, err)
	}

	reset, err := c.ECUReset(ctx, uds.EnableRapidPowerShutDown)
	must("ECUReset", err)
	if reset.Type != uds.EnableRapidPowerShutDown || reset.PowerDownTime != 3 {
		t.Errorf("ECUReset = %+v", reset)
	}

	count, err := c.ReadNumberOfDTCByStatusMask(ctx, uds.DTCConfirmed)
	must("ReadNumberOfDTCByStatusMask", err)
	if count.Count != 1 || count.Format != uds.DTCFormatISO14229 {
		t.Errorf("ReadNumberOfDTCByStatusMask = %+v", count)
	}
	list, err := c.ReadDTCByStatusMask(ctx, uds.DTCTestFailed)
	must("ReadDTCByStatusMask", err)
	if len(list.DTCs) != 1 || list.DTCs[0].DTC != 0x012345 {
		t.Errorf("ReadDTCByStatusMask = %+v", list)
	}
	supported, err := c.ReadSupportedDTC(ctx)
	must("ReadSupportedDTC", err)
	if len(supported.DTCs) != 2 || supported.Report != uds.ReportSupportedDTC {
		t.Errorf("ReadSupportedDTC = %+v", supported)
	}
	must("ClearDiagnosticInformation", c.ClearDiagnosticInformation(ctx, uds.GroupAllDTCs))
	checkErr(t, c.ClearDiagnosticInformation(ctx, 0x000100), &uds.NegativeResponseError{SID: uds.SIDClearDiagnosticInformation, NRC: uds.NRCRequestOutOfRange})

	rc, err := c.RoutineControl(ctx, uds.RoutineControlRequest{Type: uds.StartRoutine, RoutineID: 0xFF00})
	must("RoutineControl start (with response pending)", err)
	if rc.RoutineID != 0xFF00 || !bytes.Equal(rc.Status, []byte{0}) {
		t.Errorf("RoutineControl = %+v", rc)
	}
	rc, err = c.RoutineControl(ctx, uds.RoutineControlRequest{Type: uds.StartRoutine, RoutineID: 0xFF00, SuppressPositiveResponse: true})
	must("RoutineControl start suppressed (response pending forces it)", err)
	if rc == nil {
		t.Error("RoutineControl suppressed after response pending returned no response")
	}

	must("CommunicationControl", c.CommunicationControl(ctx, uds.CommunicationControlRequest{Control: uds.DisableRxAndTx, Communication: uds.NormalCommunicationMessages}))
	must("ControlDTCSetting", c.ControlDTCSetting(ctx, uds.ControlDTCSettingRequest{Type: uds.DTCSettingOff}))

	sa, err := c.SecurityAccess(ctx, uds.SecurityAccessRequest{Level: 0x01, SuppressPositiveResponse: true})
	if err != nil || sa != nil {
		t.Errorf("suppressed SecurityAccess = %+v, %v; want no response", sa, err)
	}
	if err := c.Exchange(ctx, uds.ReadDataByIdentifierRequest{}, nil); !errors.Is(err, uds.ErrInvalidValue) {
		t.Errorf("Exchange(invalid request) = %v, want ErrInvalidValue", err)
	}
}
