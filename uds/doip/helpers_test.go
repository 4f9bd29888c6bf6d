package doip_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bgkit/bgkit/uds/doip"
)

const (
	tester = 0x0E00
	ecu    = 0x1001
)

// testCtx returns a context that ends with the test, bounded so that a
// hang fails instead of blocking the run.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// udsEcho answers TesterPresent 3E 00 with 7E 00, suppresses the response
// to 3E 80, answers ReadDataByIdentifier 22 xx yy with 62 xx yy 01, and
// everything else with a negative response.
func udsEcho(_ context.Context, _, _ uint16, data []byte) ([]byte, bool) {
	switch {
	case len(data) == 2 && data[0] == 0x3E && data[1] == 0x80:
		return nil, false
	case len(data) == 2 && data[0] == 0x3E:
		return []byte{0x7E, data[1]}, true
	case len(data) == 3 && data[0] == 0x22:
		return []byte{0x62, data[1], data[2], 0x01}, true
	}
	return []byte{0x7F, data[0], 0x11}, true
}

// startServer runs a Server on 127.0.0.1 until the test ends.
func startServer(tb testing.TB, cfg doip.ServerConfig) *doip.Server {
	tb.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.LogicalAddress == 0 {
		cfg.LogicalAddress = ecu
	}
	s, err := doip.Listen(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return s
}

// dial connects a Client to s and closes it when the test ends.
func dial(tb testing.TB, s *doip.Server, cfg doip.ClientConfig) *doip.Client {
	tb.Helper()
	c, err := doip.Dial(testCtx(tb), s.Addr().String(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a test's own end of a DoIP TCP connection.
type rawConn struct {
	tb testing.TB
	net.Conn
	r *doip.Reader
}

func newRawConn(tb testing.TB, conn net.Conn) *rawConn {
	tb.Helper()
	tb.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		tb.Fatal(err)
	}
	return &rawConn{tb: tb, Conn: conn, r: doip.NewReader(conn)}
}

func dialRaw(tb testing.TB, addr net.Addr) *rawConn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		tb.Fatal(err)
	}
	return newRawConn(tb, conn)
}

func (c *rawConn) write(m doip.Message) {
	c.tb.Helper()
	b, err := doip.MarshalMessage(doip.Version2012, m)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.writeBytes(b)
}

func (c *rawConn) writeHex(s string) {
	c.tb.Helper()
	c.writeBytes(unhex(c.tb, s))
}

func (c *rawConn) writeBytes(b []byte) {
	c.tb.Helper()
	if _, err := c.Write(b); err != nil {
		c.tb.Fatal(err)
	}
}

func (c *rawConn) read() doip.Message {
	c.tb.Helper()
	_, m, err := c.r.ReadMessage()
	if err != nil {
		c.tb.Fatalf("read: %v", err)
	}
	return m
}

// expect reads the next message and compares it with want.
func (c *rawConn) expect(want doip.Message) {
	c.tb.Helper()
	if got := c.read(); !equalMessages(got, want) {
		c.tb.Fatalf("got %#v, want %#v", got, want)
	}
}

// expectClosed waits for the peer to close the connection.
func (c *rawConn) expectClosed() {
	c.tb.Helper()
	_, m, err := c.r.ReadMessage()
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		c.tb.Fatalf("got %#v, %v; want the connection closed", m, err)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// activate activates routing for sa on c.
func (c *rawConn) activate(sa uint16, want doip.RoutingActivationCode) {
	c.tb.Helper()
	c.write(doip.RoutingActivationRequest{SourceAddress: sa})
	m := c.read()
	resp, ok := m.(doip.RoutingActivationResponse)
	if !ok || resp.Code != want || resp.TesterAddress != sa {
		c.tb.Fatalf("got %#v, want code %v", m, want)
	}
}
