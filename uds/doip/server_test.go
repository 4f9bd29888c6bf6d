package doip_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/uds/doip"
)

// TestServerHeaderErrors sends refused headers on an activated connection
// and checks the NACK and whether the connection goes on.
func TestServerHeaderErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantCode   doip.HeaderNACKCode
		wantClosed bool
	}{
		{"incorrect pattern", "02 FC 80 01 00 00 00 06 0E 00 10 01 3E 00", doip.HeaderNACKIncorrectPattern, true},
		{"unknown payload type", "02 FD 12 34 00 00 00 02 AB CD", doip.HeaderNACKUnknownPayloadType, false},
		{"payload type not served on TCP", "02 FD 00 01 00 00 00 00", doip.HeaderNACKUnknownPayloadType, false},
		{"message too large", "02 FD 80 01 00 00 00 24 0E 00 10 01" + strings.Repeat(" 22", 32), doip.HeaderNACKMessageTooLarge, false},
		{"invalid payload length", "02 FD 00 08 00 00 00 03 0E 00 00", doip.HeaderNACKInvalidPayloadLength, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, doip.ServerConfig{Handler: udsEcho, MaxPayload: 32})
			c := dialRaw(t, s.Addr())
			c.activate(tester, doip.RoutingSuccess)
			c.writeHex(tc.in)
			c.expect(doip.GenericNACK{Code: tc.wantCode})
			if tc.wantClosed {
				c.expectClosed()
				return
			}
			// The connection keeps working.
			c.write(doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: ecu, Data: []byte{0x3E, 0x00}})
			c.expect(doip.DiagnosticACK{SourceAddress: ecu, TargetAddress: tester})
			c.expect(doip.DiagnosticMessage{SourceAddress: ecu, TargetAddress: tester, Data: []byte{0x7E, 0x00}})
		})
	}
}

func TestServerDiagnosticRefused(t *testing.T) {
	tests := []struct {
		name       string
		activate   bool
		msg        doip.DiagnosticMessage
		wantCode   doip.DiagNACKCode
		wantClosed bool
	}{
		{"before routing activation", false, doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: ecu, Data: []byte{0x3E, 0x00}},
			doip.DiagNACKInvalidSourceAddress, true},
		{"other source address", true, doip.DiagnosticMessage{SourceAddress: 0x0E01, TargetAddress: ecu, Data: []byte{0x3E, 0x00}},
			doip.DiagNACKInvalidSourceAddress, true},
		{"unknown target address", true, doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: 0x2000, Data: []byte{0x3E, 0x00}},
			doip.DiagNACKUnknownTargetAddress, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, doip.ServerConfig{Handler: udsEcho})
			c := dialRaw(t, s.Addr())
			if tc.activate {
				c.activate(tester, doip.RoutingSuccess)
			}
			c.write(tc.msg)
			c.expect(doip.DiagnosticNACK{SourceAddress: tc.msg.TargetAddress, TargetAddress: tc.msg.SourceAddress, Code: tc.wantCode})
			if tc.wantClosed {
				c.expectClosed()
				return
			}
			c.write(doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: ecu, Data: []byte{0x3E, 0x00}})
			c.expect(doip.DiagnosticACK{SourceAddress: ecu, TargetAddress: tester})
		})
	}
}

func TestServerRoutingActivation(t *testing.T) {
	t.Run("again with the same address", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{})
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingSuccess)
		c.activate(tester, doip.RoutingSuccess)
	})
	t.Run("different address on the socket", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{})
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingSuccess)
		c.activate(0x0E01, doip.RoutingDifferentSourceAddress)
		c.expectClosed()
	})
	t.Run("unknown source address closes", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{SourceAddresses: []uint16{0x0E80}})
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingUnknownSourceAddress)
		c.expectClosed()
	})
	t.Run("address active on a live socket", func(t *testing.T) {
		// The client answers the server's alive check, so its address
		// stays taken.
		s := startServer(t, doip.ServerConfig{})
		dial(t, s, doip.ClientConfig{SourceAddress: tester})
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingSourceAddressActive)
		c.expectClosed()
	})
	t.Run("address active on a dead socket", func(t *testing.T) {
		// A tester that does not answer the alive check loses its
		// registration to the new socket.
		s := startServer(t, doip.ServerConfig{AliveCheckTimeout: 20 * time.Millisecond})
		old := dialRaw(t, s.Addr())
		old.activate(tester, doip.RoutingSuccess)
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingSuccess)
		old.expect(doip.AliveCheckRequest{})
		old.expectClosed()
	})
	t.Run("all sockets registered and alive", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{MaxSockets: 1})
		dial(t, s, doip.ClientConfig{SourceAddress: 0x0E01})
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingAllSocketsRegistered)
		c.expectClosed()
	})
	t.Run("all sockets registered, one dead", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{MaxSockets: 1, AliveCheckTimeout: 20 * time.Millisecond})
		old := dialRaw(t, s.Addr())
		old.activate(0x0E01, doip.RoutingSuccess)
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingSuccess)
		old.expect(doip.AliveCheckRequest{})
		old.expectClosed()
	})
	t.Run("alive check answered over raw socket", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{})
		old := dialRaw(t, s.Addr())
		old.activate(tester, doip.RoutingSuccess)
		c := dialRaw(t, s.Addr())
		c.write(doip.RoutingActivationRequest{SourceAddress: tester})
		old.expect(doip.AliveCheckRequest{})
		old.write(doip.AliveCheckResponse{SourceAddress: tester})
		c.expect(doip.RoutingActivationResponse{TesterAddress: tester, EntityAddress: ecu, Code: doip.RoutingSourceAddressActive})
	})
}

func TestServerInitialInactivity(t *testing.T) {
	s := startServer(t, doip.ServerConfig{InitialInactivity: 20 * time.Millisecond})
	c := dialRaw(t, s.Addr())
	c.expectClosed()
}

func TestServerGeneralInactivity(t *testing.T) {
	s := startServer(t, doip.ServerConfig{GeneralInactivity: 20 * time.Millisecond})
	c := dialRaw(t, s.Addr())
	c.activate(tester, doip.RoutingSuccess)
	c.expectClosed()
}

func TestServerQueueFull(t *testing.T) {
	// A Handler that blocks until released lets requests pile up: 16 are
	// queued and ACKed, the one after the one running is refused.
	release := make(chan struct{})
	handler := func(ctx context.Context, _, _ uint16, data []byte) ([]byte, bool) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []byte{0x7E, 0x00}, true
	}
	s := startServer(t, doip.ServerConfig{Handler: handler})
	c := dialRaw(t, s.Addr())
	c.activate(tester, doip.RoutingSuccess)
	req := doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: ecu, Data: []byte{0x3E, 0x00}}
	ack := doip.DiagnosticACK{SourceAddress: ecu, TargetAddress: tester}
	// The first is taken by the worker, then 16 fill the queue.
	c.write(req)
	c.expect(ack)
	var nacked bool
	for range 18 {
		c.write(req)
		m := c.read()
		if n, ok := m.(doip.DiagnosticNACK); ok && n.Code == doip.DiagNACKOutOfMemory {
			nacked = true
			break
		}
		if !equalMessages(m, ack) {
			t.Fatalf("got %#v", m)
		}
	}
	if !nacked {
		t.Fatal("no DiagNACKOutOfMemory with a full queue")
	}
	close(release)
}

func TestServerUDP(t *testing.T) {
	s := startServer(t, doip.ServerConfig{VIN: testVIN})
	conn, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	announcement, err := doip.MarshalMessage(doip.Version2012, doip.VehicleAnnouncement{VIN: testVIN, LogicalAddress: ecu})
	if err != nil {
		t.Fatal(err)
	}
	status, err := doip.MarshalMessage(doip.Version2012, doip.EntityStatusResponse{
		MaxSockets: 4, MaxDataSize: doip.DefaultMaxPayload, HasMaxDataSize: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	nack := func(code doip.HeaderNACKCode) []byte {
		b, _ := doip.MarshalMessage(doip.Version2012, doip.GenericNACK{Code: code})
		return b
	}
	tests := []struct {
		name string
		in   string
		want []byte // nil: no answer
	}{
		{"identification", "FF 00 00 01 00 00 00 00", announcement},
		{"incorrect pattern", "FF FF 00 01 00 00 00 00", nack(doip.HeaderNACKIncorrectPattern)},
		{"unknown type", "02 FD 12 34 00 00 00 00", nack(doip.HeaderNACKUnknownPayloadType)},
		{"TCP type", "02 FD 00 05 00 00 00 07 0E 00 00 00 00 00 00", nack(doip.HeaderNACKUnknownPayloadType)},
		{"too large", "02 FD 00 03 00 00 10 00", nack(doip.HeaderNACKMessageTooLarge)},
		{"invalid length", "02 FD 00 01 00 00 00 01 00", nack(doip.HeaderNACKInvalidPayloadLength)},
		{"length differs from datagram", "02 FD 00 02 00 00 00 06 00 01 02", nack(doip.HeaderNACKInvalidPayloadLength)},
		{"generic NACK is not answered", "02 FD 00 00 00 00 00 01 01", nil},
		{"announcement is not answered", "02 FD 00 04 00 00 00 20" + strings.Repeat(" 00", 32), nil},
		{"short datagram is ignored", "02 FD 00", nil},
		// Protocol versions (Table 16): an unsupported one, or 0xFF on
		// anything but a vehicle identification request (Tables 2 to 4),
		// gets NACK 0x00 (Table 19) and the datagram is discarded.
		{"reserved version 0x00", "00 FF 00 01 00 00 00 00", nack(doip.HeaderNACKIncorrectPattern)},
		{"reserved version 0x04", "04 FB 00 01 00 00 00 00", nack(doip.HeaderNACKIncorrectPattern)},
		{"default version on entity status request", "FF 00 40 01 00 00 00 00", nack(doip.HeaderNACKIncorrectPattern)},
		{"default version on power mode request", "FF 00 40 03 00 00 00 00", nack(doip.HeaderNACKIncorrectPattern)},
		{"default version on unknown type", "FF 00 12 34 00 00 00 00", nack(doip.HeaderNACKIncorrectPattern)},
		{"default version with EID", "FF 00 00 02 00 00 00 06 00 00 00 00 00 00", announcement},
		{"default version with VIN", "FF 00 00 03 00 00 00 11 57 56 57 5A 5A 5A 31 4A 5A 58 57 30 30 30 30 30 31", announcement}, // VIN WVWZZZ1JZXW000001,
		{"version 2010 identification", "01 FE 00 01 00 00 00 00", announcement},
		{"version 2019 identification", "03 FC 00 01 00 00 00 00", announcement},
		{"version 2019 entity status", "03 FC 40 01 00 00 00 00", status},
		// Other entities' messages are never answered, whatever their
		// version: a newer entity's announcement must not draw a NACK.
		{"announcement of version 0x04 is not answered", "04 FB 00 04 00 00 00 20" + strings.Repeat(" 00", 32), nil},
		{"generic NACK of version 0x00 is not answered", "00 FF 00 00 00 00 00 01 00", nil},
	}
	buf := make([]byte, 128)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := conn.Write(unhex(t, tc.in)); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				// Follow with a request whose answer must come next.
				if _, err := conn.Write(unhex(t, "02 FD 00 01 00 00 00 00")); err != nil {
					t.Fatal(err)
				}
				want = announcement
			}
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("got % X, want % X", buf[:n], want)
			}
		})
	}
}

func TestServerShutdownCancelsHandler(t *testing.T) {
	started := make(chan struct{})
	handler := func(ctx context.Context, _, _ uint16, _ []byte) ([]byte, bool) {
		close(started)
		<-ctx.Done()
		return nil, false
	}
	s, err := doip.Listen(doip.ServerConfig{Addr: "127.0.0.1:0", LogicalAddress: ecu, Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c := dialRaw(t, s.Addr())
	c.activate(tester, doip.RoutingSuccess)
	c.write(doip.DiagnosticMessage{SourceAddress: tester, TargetAddress: ecu, Data: []byte{0x31, 0x01}})
	c.expect(doip.DiagnosticACK{SourceAddress: ecu, TargetAddress: tester})
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	c.expectClosed()
	if err := s.Run(context.Background()); !errors.Is(err, doip.ErrClosed) {
		t.Fatalf("Run after shutdown: %v, want %v", err, doip.ErrClosed)
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Fatal("listener still open after Run returned")
	}
}

func TestServerClose(t *testing.T) {
	t.Run("without Run", func(t *testing.T) {
		s, err := doip.Listen(doip.ServerConfig{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background()); !errors.Is(err, doip.ErrClosed) {
			t.Fatalf("Run: %v, want %v", err, doip.ErrClosed)
		}
	})
	t.Run("ends Run", func(t *testing.T) {
		s, err := doip.Listen(doip.ServerConfig{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(context.Background()) }()
		c := dialRaw(t, s.Addr())
		c.activate(tester, doip.RoutingSuccess)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		c.expectClosed()
	})
	t.Run("Run twice", func(t *testing.T) {
		s := startServer(t, doip.ServerConfig{})
		c := dialRaw(t, s.Addr()) // Run has started serving
		c.activate(tester, doip.RoutingSuccess)
		if err := s.Run(context.Background()); err == nil {
			t.Fatal("second Run succeeded")
		}
	})
}

func TestListenErrors(t *testing.T) {
	s := startServer(t, doip.ServerConfig{})
	tests := []struct {
		name string
		cfg  doip.ServerConfig
	}{
		{"TCP address in use", doip.ServerConfig{Addr: s.Addr().String(), UDPAddr: "127.0.0.1:0"}},
		{"UDP address in use", doip.ServerConfig{Addr: "127.0.0.1:0", UDPAddr: s.UDPAddr().String()}},
		{"bad address", doip.ServerConfig{Addr: "127.0.0.1:notaport"}},
		{"reserved protocol version", doip.ServerConfig{Addr: "127.0.0.1:0", Version: 0x04}},
		{"default protocol version", doip.ServerConfig{Addr: "127.0.0.1:0", Version: doip.VersionDefault}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s2, err := doip.Listen(tc.cfg)
			if err == nil {
				s2.Close()
				t.Fatal("Listen succeeded")
			}
		})
	}
}

// A diagnostic message to a functional address is acknowledged from that
// address (the receiver addressed), and answered from the entity's own
// logical address: ISO 13400-2 diagnostic message 0x8001 with SA = the
// responding entity, TA = the tester. Bytes checked on the wire.
func TestServerFunctionalResponseSource(t *testing.T) {
	s := startServer(t, doip.ServerConfig{Handler: udsEcho, FunctionalAddresses: []uint16{0xE400}})
	c := dialRaw(t, s.Addr())
	c.activate(tester, doip.RoutingSuccess)
	c.writeHex("02 FD 8001 00000006 0E00 E400 3E00")
	c.expect(doip.DiagnosticACK{SourceAddress: 0xE400, TargetAddress: tester})
	resp := make([]byte, 14)
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "02 FD 8001 00000006 1001 0E00 7E00"); !bytes.Equal(resp, want) {
		t.Fatalf("response % X, want % X", resp, want)
	}
	// Physically addressed, the response comes from the target.
	c.writeHex("02 FD 8001 00000006 0E00 1001 3E00")
	c.expect(doip.DiagnosticACK{SourceAddress: ecu, TargetAddress: tester})
	c.expect(doip.DiagnosticMessage{SourceAddress: ecu, TargetAddress: tester, Data: []byte{0x7E, 0x00}})
}

// TestServerProtocolVersion checks the first test of the generic DoIP
// header handler (ISO 13400-2:2012/2019, Table 16 "Generic DoIP header
// structure" and Table 19 "Generic DoIP header NACK codes"): a header whose
// protocol version the entity does not support fails the synchronization
// pattern check like a wrong inverse byte, so the entity answers with
// generic NACK 0x00 (incorrect pattern format) and closes the TCP_DATA
// socket. 0xFF (default) is valid in vehicle identification requests only,
// which are never sent on TCP. The entity supports 0x01 (ISO/DIS
// 13400-2:2010), 0x02 (2012) and 0x03 (2019) and answers with its own
// version (ServerConfig.Version, 0x02 here).
//
// The request is a routing activation request, payload type 0x0005 with
// 7 bytes: source address 0E 00, activation type 00, 4 reserved bytes.
func TestServerProtocolVersion(t *testing.T) {
	const req = " 00 05 00 00 00 07 0E 00 00 00 00 00 00"
	// Generic DoIP header NACK (Table 18): header 02 FD 00 00, length 1,
	// NACK code 00.
	const nack = "02 FD 00 00 00 00 00 01 00"
	// Routing activation response: header 02 FD 00 06, length 9, tester
	// 0E 00, entity 10 01, code 10 (success), 4 reserved bytes.
	const activated = "02 FD 00 06 00 00 00 09 0E 00 10 01 10 00 00 00 00"
	tests := []struct {
		name    string
		version string // protocol version and inverse
		want    string
		closed  bool
	}{
		{"reserved 0x00", "00 FF", nack, true},
		{"reserved 0x04", "04 FB", nack, true},
		{"reserved 0xFE", "FE 01", nack, true},
		{"default 0xFF on TCP", "FF 00", nack, true},
		{"ISO/DIS 13400-2:2010", "01 FE", activated, false},
		{"ISO 13400-2:2012", "02 FD", activated, false},
		{"ISO 13400-2:2019", "03 FC", activated, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, doip.ServerConfig{Handler: udsEcho})
			other := dialRaw(t, s.Addr())
			other.activate(0x0E01, doip.RoutingSuccess)

			c := dialRaw(t, s.Addr())
			c.writeHex(tc.version + req)
			got := make([]byte, len(unhex(t, tc.want)))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("read answer: %v", err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("answer % X, want % X", got, want)
			}
			if tc.closed {
				c.expectClosed()
			}
			// The entity goes on serving its other connections.
			other.write(doip.DiagnosticMessage{SourceAddress: 0x0E01, TargetAddress: ecu, Data: []byte{0x3E, 0x00}})
			other.expect(doip.DiagnosticACK{SourceAddress: ecu, TargetAddress: 0x0E01})
			other.expect(doip.DiagnosticMessage{SourceAddress: ecu, TargetAddress: 0x0E01, Data: []byte{0x7E, 0x00}})
		})
	}
}
