package spawn

import (
	"net"
	"runtime"
	"testing"
	"time"
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
