package doip_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
)

var _ uds.Transport = (*doip.DiagConn)(nil)

func TestClientTesterPresent(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho})
	c := dial(t, s, doip.ClientConfig{})
	if got := c.EntityAddress(); got != ecu {
		t.Errorf("EntityAddress = 0x%04X, want 0x%04X", got, ecu)
	}
	if got := c.SourceAddress(); got != doip.DefaultTesterAddress {
		t.Errorf("SourceAddress = 0x%04X", got)
	}
	var tr uds.Transport = c.DiagConn(ecu)
	ctx := testCtx(t)
	for range 3 {
		if err := tr.Send(ctx, []byte{0x3E, 0x00}); err != nil {
			t.Fatal(err)
		}
		got, err := tr.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, []byte{0x7E, 0x00}) {
			t.Fatalf("got % X, want 7E 00", got)
		}
	}
	if c.DiagConn(ecu) != tr {
		t.Error("DiagConn returned a new value for the same target")
	}
}

func TestClientSuppressedResponse(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho})
	d := dial(t, s, doip.ClientConfig{}).DiagConn(ecu)
	ctx := testCtx(t)
	if err := d.Send(ctx, []byte{0x3E, 0x80}); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(ctx, []byte{0x22, 0xF1, 0x90}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte{0x62, 0xF1, 0x90, 0x01}) {
		t.Fatalf("got % X, want the response to 22 F1 90 only", got)
	}
}

func TestClientSeveralTargets(t *testing.T) {
	handler := func(_ context.Context, sa, ta uint16, data []byte) ([]byte, bool) {
		return []byte{0x7E, byte(ta)}, true
	}
	s := startServer(t, doip.ServerConfig{Handler: handler, TargetAddresses: []uint16{0x1001, 0x1002, 0xE400}})
	c := dial(t, s, doip.ClientConfig{})
	ctx := testCtx(t)
	for _, ta := range []uint16{0x1002, 0xE400, 0x1001} {
		d := c.DiagConn(ta)
		if err := d.Send(ctx, []byte{0x3E, 0x00}); err != nil {
			t.Fatal(err)
		}
		got, err := d.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []byte{0x7E, byte(ta)}; !bytes.Equal(got, want) {
			t.Fatalf("target 0x%04X: got % X, want % X", ta, got, want)
		}
	}
}

func TestClientUnknownTarget(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho})
	c := dial(t, s, doip.ClientConfig{})
	ctx := testCtx(t)
	err := c.DiagConn(0x2222).Send(ctx, []byte{0x3E, 0x00})
	if !errors.Is(err, doip.DiagNACKUnknownTargetAddress) {
		t.Fatalf("err = %v, want %v", err, doip.DiagNACKUnknownTargetAddress)
	}
	if code, ok := errors.AsType[doip.DiagNACKCode](err); !ok || code != doip.DiagNACKUnknownTargetAddress {
		t.Fatalf("errors.AsType: %v, %v", code, ok)
	}
	// The connection goes on.
	d := c.DiagConn(ecu)
	if err := d.Send(ctx, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Recv(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientNoHandler(t *testing.T) {
	s := startServer(t, doip.ServerConfig{})
	c := dial(t, s, doip.ClientConfig{})
	err := c.DiagConn(ecu).Send(testCtx(t), []byte{0x3E, 0x00})
	if !errors.Is(err, doip.DiagNACKTargetUnreachable) {
		t.Fatalf("err = %v, want %v", err, doip.DiagNACKTargetUnreachable)
	}
}

func TestClientRoutingActivationDenied(t *testing.T) {
	tests := []struct {
		name   string
		server doip.ServerConfig
		client doip.ClientConfig
		want   doip.RoutingActivationCode
	}{
		{
			name:   "unknown source address",
			server: doip.ServerConfig{SourceAddresses: []uint16{0x0E00}},
			client: doip.ClientConfig{SourceAddress: 0x0E80},
			want:   doip.RoutingUnknownSourceAddress,
		},
		{
			name:   "unsupported activation type",
			client: doip.ClientConfig{ActivationType: doip.ActivationCentralSecurity},
			want:   doip.RoutingUnsupportedActivationType,
		},
		{
			name: "missing authentication",
			server: doip.ServerConfig{Activate: func(doip.RoutingActivationRequest) doip.RoutingActivationCode {
				return doip.RoutingMissingAuthentication
			}},
			want: doip.RoutingMissingAuthentication,
		},
		{
			name: "confirmation required",
			server: doip.ServerConfig{Activate: func(doip.RoutingActivationRequest) doip.RoutingActivationCode {
				return doip.RoutingConfirmationRequired
			}},
			want: doip.RoutingConfirmationRequired,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.server)
			c, err := doip.Dial(testCtx(t), s.Addr().String(), tc.client)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if code, ok := errors.AsType[doip.RoutingActivationCode](err); !ok || code != tc.want {
				t.Fatalf("errors.AsType = %v, %v", code, ok)
			}
		})
	}
}

func TestClientAcceptedSourceAddress(t *testing.T) {
	s := startServer(t, doip.ServerConfig{SourceAddresses: []uint16{0x0E00, 0x0E80}, Handler: udsEcho})
	c := dial(t, s, doip.ClientConfig{SourceAddress: 0x0E80, ActivationType: doip.ActivationWWHOBD})
	d := c.DiagConn(ecu)
	if err := d.Send(testCtx(t), []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
}

// TestClientAnswersAliveCheck plays the entity: after routing activation
// it sends an alive check request and expects the client's response.
func TestClientAnswersAliveCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- conn
	}()
	type dialed struct {
		c   *doip.Client
		err error
	}
	dc := make(chan dialed, 1)
	go func() {
		c, err := doip.Dial(testCtx(t), ln.Addr().String(), doip.ClientConfig{SourceAddress: 0x0E42})
		dc <- dialed{c, err}
	}()
	conn, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	e := newRawConn(t, conn)
	e.expect(doip.RoutingActivationRequest{SourceAddress: 0x0E42})
	e.write(doip.RoutingActivationResponse{TesterAddress: 0x0E42, EntityAddress: ecu, Code: doip.RoutingSuccess})
	d := <-dc
	if d.err != nil {
		t.Fatal(d.err)
	}
	defer d.c.Close()
	for range 2 {
		e.write(doip.AliveCheckRequest{})
		e.expect(doip.AliveCheckResponse{SourceAddress: 0x0E42})
	}

	// The client also refuses bad headers like an entity: unknown type →
	// NACK and the connection goes on; incorrect pattern → NACK and close.
	e.writeHex("02 FD 12 34 00 00 00 01 00")
	e.expect(doip.GenericNACK{Code: doip.HeaderNACKUnknownPayloadType})
	e.write(doip.AliveCheckRequest{})
	e.expect(doip.AliveCheckResponse{SourceAddress: 0x0E42})
	e.writeHex("02 02 00 07 00 00 00 00")
	e.expect(doip.GenericNACK{Code: doip.HeaderNACKIncorrectPattern})
	e.expectClosed()
}

// fakeEntity accepts one connection, activates routing, and hands the
// connection to the test.
func fakeEntity(t *testing.T, cfg doip.ClientConfig) (*doip.Client, *rawConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type dialed struct {
		c   *doip.Client
		err error
	}
	dc := make(chan dialed, 1)
	go func() {
		c, err := doip.Dial(testCtx(t), ln.Addr().String(), cfg)
		dc <- dialed{c, err}
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	e := newRawConn(t, conn)
	req, ok := e.read().(doip.RoutingActivationRequest)
	if !ok {
		t.Fatal("no routing activation request")
	}
	e.write(doip.RoutingActivationResponse{TesterAddress: req.SourceAddress, EntityAddress: ecu, Code: doip.RoutingSuccess})
	d := <-dc
	if d.err != nil {
		t.Fatal(d.err)
	}
	t.Cleanup(func() { d.c.Close() })
	return d.c, e
}

func TestClientSendErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   doip.Message // nil: none
		wantErr error
	}{
		{"diagnostic NACK", doip.DiagnosticNACK{SourceAddress: ecu, TargetAddress: tester, Code: doip.DiagNACKOutOfMemory}, doip.DiagNACKOutOfMemory},
		{"generic NACK", doip.GenericNACK{Code: doip.HeaderNACKMessageTooLarge}, doip.HeaderNACKMessageTooLarge},
		{"no ACK", nil, doip.ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, e := fakeEntity(t, doip.ClientConfig{Timeout: 100 * time.Millisecond})
			errc := make(chan error, 1)
			go func() { errc <- c.DiagConn(ecu).Send(testCtx(t), []byte{0x10, 0x03}) }()
			e.expect(doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: ecu, Data: []byte{0x10, 0x03}})
			if tc.reply != nil {
				e.write(tc.reply)
			}
			if err := <-errc; !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestClientIgnoresOtherAddresses checks that responses for another tester
// or from another target do not reach a DiagConn.
func TestClientIgnoresOtherAddresses(t *testing.T) {
	c, e := fakeEntity(t, doip.ClientConfig{})
	d := c.DiagConn(ecu)
	e.write(doip.DiagnosticMessage{SourceAddress: ecu, TargetAddress: 0x0E01, Data: []byte{1}})
	e.write(doip.DiagnosticMessage{SourceAddress: 0x1002, TargetAddress: tester, Data: []byte{2}})
	e.write(doip.DiagnosticMessage{SourceAddress: ecu, TargetAddress: tester, Data: []byte{3}})
	got, err := d.Recv(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte{3}) {
		t.Fatalf("got % X, want 03", got)
	}
}

func TestClientRoutingTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The entity reads the request, never answers, and sees the client
	// give up and close.
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		r := doip.NewReader(conn)
		if _, _, err := r.ReadMessage(); err != nil {
			done <- err
			return
		}
		_, _, err = r.ReadMessage()
		done <- err
	}()
	_, err = doip.Dial(testCtx(t), ln.Addr().String(), doip.ClientConfig{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, doip.ErrTimeout) {
		t.Fatalf("err = %v, want %v", err, doip.ErrTimeout)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("entity: err = %v, want EOF", err)
	}
}

func TestClientDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := doip.Dial(testCtx(t), addr, doip.ClientConfig{}); err == nil {
		t.Fatal("Dial succeeded without a listener")
	}
}

func TestClientReconnect(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho})
	c := dial(t, s, doip.ClientConfig{})
	d := c.DiagConn(ecu)
	ctx := testCtx(t)
	exchange := func() {
		t.Helper()
		if err := d.Send(ctx, []byte{0x3E, 0x00}); err != nil {
			t.Fatal(err)
		}
		got, err := d.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, []byte{0x7E, 0x00}) {
			t.Fatalf("got % X", got)
		}
	}
	exchange()
	for range 2 {
		s.ResetConnections()
		if _, err := d.Recv(ctx); !errors.Is(err, doip.ErrConnectionLost) {
			t.Fatalf("Recv after reset: err = %v, want %v", err, doip.ErrConnectionLost)
		}
		exchange() // Send dials again and activates routing
	}
}

func TestClientDisableReconnect(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho})
	c := dial(t, s, doip.ClientConfig{DisableReconnect: true})
	d := c.DiagConn(ecu)
	ctx := testCtx(t)
	s.ResetConnections()
	if _, err := d.Recv(ctx); !errors.Is(err, doip.ErrConnectionLost) {
		t.Fatalf("Recv: err = %v, want %v", err, doip.ErrConnectionLost)
	}
	if err := d.Send(ctx, []byte{0x3E, 0x00}); !errors.Is(err, doip.ErrConnectionLost) {
		t.Fatalf("Send: err = %v, want %v", err, doip.ErrConnectionLost)
	}
}

func TestClientClose(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho})
	c := dial(t, s, doip.ClientConfig{})
	d := c.DiagConn(ecu)
	ctx := testCtx(t)
	recvErr := make(chan error, 1)
	go func() {
		_, err := d.Recv(ctx)
		recvErr <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-recvErr; !errors.Is(err, doip.ErrClosed) {
		t.Fatalf("Recv: err = %v, want %v", err, doip.ErrClosed)
	}
	if err := d.Send(ctx, []byte{0x3E, 0x00}); !errors.Is(err, doip.ErrClosed) {
		t.Fatalf("Send: err = %v, want %v", err, doip.ErrClosed)
	}
}

func TestClientContextCanceled(t *testing.T) {
	c, e := fakeEntity(t, doip.ClientConfig{})
	d := c.DiagConn(ecu)
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() { errc <- d.Send(ctx, []byte{0x3E, 0x00}) }()
	e.read() // the message is out; no ACK comes
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send: err = %v, want %v", err, context.Canceled)
	}
	go func() {
		_, err := d.Recv(ctx)
		errc <- err
	}()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv: err = %v, want %v", err, context.Canceled)
	}
}

func TestDiscover(t *testing.T) {
	s := startServer(t, doip.ServerConfig{VIN: testVIN, EID: testEID, GID: testGID, FurtherAction: doip.FurtherActionCentralSecurity})
	addr := s.UDPAddr().String()
	ctx := testCtx(t)
	want := doip.VehicleAnnouncement{
		VIN: testVIN, LogicalAddress: ecu, EID: testEID, GID: testGID, FurtherAction: doip.FurtherActionCentralSecurity,
	}
	otherEID := doip.EID{1, 2, 3, 4, 5, 6}
	otherVIN := doip.VIN([]byte("WVWZZZ1JZXW999999"))
	tests := []struct {
		name    string
		cfg     doip.DiscoverConfig
		wantErr error
	}{
		{name: "any", cfg: doip.DiscoverConfig{}},
		{name: "version 2012", cfg: doip.DiscoverConfig{UDPConfig: doip.UDPConfig{Version: doip.Version2012}}},
		{name: "by EID", cfg: doip.DiscoverConfig{EID: &testEID}},
		{name: "by VIN", cfg: doip.DiscoverConfig{VIN: &testVIN}},
		{name: "other EID", cfg: doip.DiscoverConfig{EID: &otherEID, UDPConfig: doip.UDPConfig{Timeout: 50 * time.Millisecond}}, wantErr: doip.ErrTimeout},
		{name: "other VIN", cfg: doip.DiscoverConfig{VIN: &otherVIN, UDPConfig: doip.UDPConfig{Timeout: 50 * time.Millisecond}}, wantErr: doip.ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := doip.Discover(ctx, addr, tc.cfg)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.VehicleAnnouncement != want {
				t.Fatalf("got %+v, want %+v", v.VehicleAnnouncement, want)
			}
			if v.Addr.String() != addr {
				t.Fatalf("from %v, want %v", v.Addr, addr)
			}
		})
	}
}

func TestDiscoverAll(t *testing.T) {
	s := startServer(t, doip.ServerConfig{VIN: testVIN})
	vs, err := doip.DiscoverAll(testCtx(t), s.UDPAddr().String(), doip.DiscoverConfig{UDPConfig: doip.UDPConfig{Timeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].VIN != testVIN {
		t.Fatalf("got %+v, want one vehicle", vs)
	}
}

func TestDiscoverContextCanceled(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := doip.Discover(ctx, pc.LocalAddr().String(), doip.DiscoverConfig{UDPConfig: doip.UDPConfig{Timeout: time.Minute}})
		errc <- err
	}()
	buf := make([]byte, 64)
	n, _, err := pc.ReadFrom(buf) // the request arrived
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], unhex(t, "FF 00 00 01 00 00 00 00")) {
		t.Fatalf("request % X", buf[:n])
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want %v", err, context.Canceled)
	}
}

func TestEntityStatusAndPowerMode(t *testing.T) {
	mode := doip.PowerModeNotReady
	s := startServer(t, doip.ServerConfig{
		NodeType: doip.NodeNode, MaxSockets: 3, MaxPayload: 4000,
		PowerMode: func() doip.PowerMode { return mode },
		Handler:   udsEcho,
	})
	ctx := testCtx(t)
	c := dial(t, s, doip.ClientConfig{})
	if err := c.DiagConn(ecu).Send(ctx, []byte{0x3E, 0x80}); err != nil {
		t.Fatal(err)
	}
	st, err := doip.EntityStatus(ctx, s.UDPAddr().String(), doip.UDPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := doip.EntityStatusResponse{NodeType: doip.NodeNode, MaxSockets: 3, OpenSockets: 1, MaxDataSize: 4000, HasMaxDataSize: true}
	if st != want {
		t.Fatalf("got %+v, want %+v", st, want)
	}
	got, err := doip.DiagnosticPowerMode(ctx, s.UDPAddr().String(), doip.UDPConfig{Version: doip.Version2019})
	if err != nil || got != doip.PowerModeNotReady {
		t.Fatalf("power mode %v, %v", got, err)
	}
}

func TestClientMessageTooLarge(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho, MaxPayload: 32})
	d := dial(t, s, doip.ClientConfig{}).DiagConn(ecu)
	ctx := testCtx(t)
	big := append([]byte{0x36, 0x01}, make([]byte, 64)...)
	if err := d.Send(ctx, big); !errors.Is(err, doip.HeaderNACKMessageTooLarge) {
		t.Fatalf("err = %v, want %v", err, doip.HeaderNACKMessageTooLarge)
	}
	// The entity discarded the message and the connection goes on.
	if err := d.Send(ctx, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Recv(ctx); err != nil || !bytes.Equal(got, []byte{0x7E, 0x00}) {
		t.Fatalf("got % X, %v", got, err)
	}
}

// TestClientNACKBeforeClose checks that a NACK followed at once by the
// entity closing the socket reaches Send as the NACK.
func TestClientNACKBeforeClose(t *testing.T) {
	for range 20 {
		c, e := fakeEntity(t, doip.ClientConfig{})
		errc := make(chan error, 1)
		go func() { errc <- c.DiagConn(ecu).Send(testCtx(t), []byte{0x3E, 0x00}) }()
		e.read()
		e.write(doip.DiagnosticNACK{SourceAddress: ecu, TargetAddress: tester, Code: doip.DiagNACKInvalidSourceAddress})
		e.Close()
		if err := <-errc; !errors.Is(err, doip.DiagNACKInvalidSourceAddress) {
			t.Fatalf("err = %v, want %v", err, doip.DiagNACKInvalidSourceAddress)
		}
	}
}

// TestClientDialEntityFails plays an entity that refuses the routing
// activation request with a generic NACK, or closes without a word.
func TestClientDialEntityFails(t *testing.T) {
	tests := []struct {
		name    string
		reply   doip.Message // nil: close the connection
		wantErr error
	}{
		{"generic NACK", doip.GenericNACK{Code: doip.HeaderNACKOutOfMemory}, doip.HeaderNACKOutOfMemory},
		{"closed", nil, doip.ErrConnectionLost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan error, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				defer conn.Close()
				if _, _, err := doip.NewReader(conn).ReadMessage(); err != nil {
					done <- err
					return
				}
				if tc.reply != nil {
					b, _ := doip.MarshalMessage(doip.Version2012, tc.reply)
					_, err = conn.Write(b)
				}
				done <- err
			}()
			c, err := doip.Dial(testCtx(t), ln.Addr().String(), doip.ClientConfig{})
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClientRecvQueue checks that a DiagConn keeps the newest 32 responses
// when nobody receives them.
func TestClientRecvQueue(t *testing.T) {
	c, e := fakeEntity(t, doip.ClientConfig{})
	d := c.DiagConn(ecu)
	if d.TargetAddress() != ecu {
		t.Fatalf("TargetAddress = 0x%04X", d.TargetAddress())
	}
	const n = 40
	for i := range n {
		e.write(doip.DiagnosticMessage{SourceAddress: ecu, TargetAddress: tester, Data: []byte{byte(i)}})
	}
	// An alive check answered after the responses shows they were all read.
	e.write(doip.AliveCheckRequest{})
	e.expect(doip.AliveCheckResponse{SourceAddress: tester})
	ctx := testCtx(t)
	for i := n - 32; i < n; i++ {
		got, err := d.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != byte(i) {
			t.Fatalf("got response %d, want %d", got[0], i)
		}
	}
}

// A FunctionalConn receives the responses to its requests, which come from
// the entity's own address; a physical Send afterwards takes the
// responses back to the DiagConns of their sources.
func TestClientFunctionalConn(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho, FunctionalAddresses: []uint16{0xE400}})
	c := dial(t, s, doip.ClientConfig{})
	ctx := testCtx(t)
	phys, fn := c.DiagConn(ecu), c.FunctionalConn(0xE400)
	if fn != c.FunctionalConn(0xE400) || fn == phys {
		t.Fatal("FunctionalConn does not return one DiagConn per address")
	}
	for i, d := range []*doip.DiagConn{fn, phys, fn} {
		if err := d.Send(ctx, []byte{0x22, 0xF1, byte(i)}); err != nil {
			t.Fatal(err)
		}
		got, err := d.Recv(ctx)
		if want := []byte{0x62, 0xF1, byte(i), 0x01}; err != nil || !bytes.Equal(got, want) {
			t.Fatalf("request %d to 0x%04X: % X, %v; want % X", i, d.TargetAddress(), got, err, want)
		}
	}
}
