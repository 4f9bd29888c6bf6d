package spawn

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/wiretap"
)

// TestPredialer: an idle pool child's connection to the bus is handed to
// its dial when fresh, and dropped when older than predialFresh (the
// server would close it for not authenticating); the one-shot dialer
// uses it once.
func TestPredialer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := l.Addr().String()

	var p predialer
	p.start("nats://" + addr)
	server := <-accepted // the predialed connection has reached the server
	waitConn(&p)
	c := p.take(addr)
	if c == nil {
		t.Fatal("no predialed connection")
	}
	d := &oneShotDialer{addr: addr, conn: c}
	first, err := d.Dial("tcp", addr)
	if err != nil || first != c {
		t.Fatalf("first dial = %v, %v; want the predialed connection", first, err)
	}
	if _, err := server.Write([]byte("INFO\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := first.Read(buf); err != nil || string(buf) != "INFO\r\n" {
		t.Fatalf("read %q, %v on the predialed connection", buf, err)
	}
	again, err := d.Dial("tcp", addr)
	if err != nil || again == c {
		t.Fatalf("second dial = %v, %v; want a new connection", again, err)
	}
	again.Close()
	first.Close()

	var stale predialer
	stale.start("nats://" + addr)
	<-accepted
	waitConn(&stale)
	stale.mu.Lock()
	stale.at = time.Now().Add(-2 * predialFresh)
	stale.mu.Unlock()
	if c := stale.take(addr); c != nil {
		t.Fatal("a stale connection was handed out")
	}
	if c := stale.take(addr); c != nil {
		t.Fatal("take after take handed out a connection")
	}
	var other predialer
	other.start("nats://" + addr)
	<-accepted
	if c := other.take("127.0.0.1:1"); c != nil {
		t.Fatal("a connection to another address was handed out")
	}
}

// waitConn waits until p has recorded its connection.
func waitConn(p *predialer) {
	for {
		p.mu.Lock()
		ok := p.conn != nil
		p.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

// The CONNECT and PING a parent sends for its child are byte for byte what
// nats.go writes first with the child's options: otherwise every child
// would refuse the connection its parent made (authedConn) and dial anew.
func TestConnectLinesAreWhatNATSWrites(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	creds, err := b.Grant("HELLO")
	if err != nil {
		t.Fatal(err)
	}
	d := &wiretap.Dialer{}
	cb, err := bus.Dial(context.Background(), creds, bus.WithClientName(clientName("HELLO")), bus.WithDialer(d),
		bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	wrote := d.Written()
	want := string(connectLines(creds, clientName("HELLO")))
	if !strings.HasPrefix(wrote, want) {
		t.Errorf("nats.go wrote first\n%q\nthe parent sends\n%q", wrote[:min(len(wrote), len(want)+40)], want)
	}
}

// authedConn drops what the parent sent, however nats.go splits it, passes
// on what follows, and fails a first write that differs.
func TestAuthedConn(t *testing.T) {
	hello := "CONNECT {\"user\":\"A\"}\r\nPING\r\n"
	for _, tc := range []struct {
		name   string
		writes []string
		err    bool
		passed string
	}{
		{"as nats.go writes", []string{"CONNECT {\"user\":\"A\"}\r\n", "PING\r\n", "SUB a 1\r\n"}, false, "SUB a 1\r\n"},
		{"in one write, with more", []string{hello + "SUB a 1\r\n", "PING\r\n"}, false, "SUB a 1\r\nPING\r\n"},
		{"byte by byte", strings.Split(hello, ""), false, ""},
		{"another user", []string{"CONNECT {\"user\":\"B\"}\r\n", "PING\r\n"}, true, ""},
		{"different after a good start", []string{"CONNECT {\"user\"", ":\"B\"}\r\n"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := net.Pipe()
			defer server.Close()
			got := make(chan string)
			go func() {
				b, _ := io.ReadAll(server)
				got <- string(b)
			}()
			c := &authedConn{Conn: client, sent: []byte(hello)}
			var err error
			for _, w := range tc.writes {
				var n int
				if n, err = c.Write([]byte(w)); err != nil {
					break
				}
				if n != len(w) {
					t.Errorf("Write(%q) = %d", w, n)
				}
			}
			if (err != nil) != tc.err {
				t.Errorf("error %v, want one: %v", err, tc.err)
			}
			client.Close()
			if p := <-got; p != tc.passed {
				t.Errorf("passed on %q, want %q", p, tc.passed)
			}
		})
	}
}
