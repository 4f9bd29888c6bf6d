package spawn

import (
	"os"

	"github.com/bgkit/bgkit/bus"
	"net"
	"net/url"
	"sync"
	"time"
)

// An idle child of a pool keeps a TCP connection to the bus open, made
// afresh every predialEvery, so that when it is taken its dial skips the
// TCP handshake and the wait for the server's INFO (about 0.4 ms of the
// 1.1 ms a dial takes here). The server closes a connection that has not
// authenticated within its auth timeout (2 s by default): one older than
// predialFresh is not used.
const (
	predialEvery = time.Second
	predialFresh = 1500 * time.Millisecond
)

// connFD is where a child finds the connection its parent made for it.
const connFD = 5

// predialFor is a TCP connection to the embedded server of b, which b's
// owner makes for a child it is about to exec: the TCP handshake and the
// server's INFO happen while the child starts, and its dial begins with
// the CONNECT (the server allows 2 s for it; a child that needs longer
// dials anew). nil for an external bus.
func predialFor(b *bus.Bus, creds bus.Credentials) *os.File {
	if !b.Embedded() {
		return nil
	}
	u, err := url.Parse(creds.URL)
	if err != nil {
		return nil
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return nil
	}
	defer c.Close()
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	f, err := tc.File() // a duplicate descriptor, in blocking mode
	if err != nil {
		return nil
	}
	return f
}

// inheritedConn is the connection at fd, or nil.
func inheritedConn(fd int) net.Conn {
	f := os.NewFile(uintptr(fd), "bgkit-bus-conn")
	if f == nil {
		return nil
	}
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil
	}
	return c
}

// predialed is this process's; only an idle pool child uses it.
var predialed predialer

type predialer struct {
	mu   sync.Mutex
	addr string
	conn net.Conn
	at   time.Time
	stop chan struct{}
	done chan struct{}
}

// start keeps a connection to the server of busURL until take.
func (p *predialer) start(busURL string) {
	u, err := url.Parse(busURL)
	if err != nil || u.Host == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return
	}
	p.addr, p.stop, p.done = u.Host, make(chan struct{}), make(chan struct{})
	go p.run(p.stop, p.done)
}

func (p *predialer) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(predialEvery)
	defer t.Stop()
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		p.mu.Lock()
		old := p.conn
		p.conn, p.at = c, time.Now()
		if err != nil {
			p.conn = nil
		}
		p.mu.Unlock()
		if old != nil {
			old.Close()
		}
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// take stops the redialling and returns the connection to addr if it is
// fresh enough, else nil.
func (p *predialer) take(addr string) net.Conn {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop = nil
	p.mu.Unlock()
	if stop == nil {
		return nil
	}
	close(stop)
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conn
	p.conn = nil
	if c == nil || p.addr != addr || time.Since(p.at) > predialFresh {
		if c != nil {
			c.Close()
		}
		return nil
	}
	return c
}

// oneShotDialer hands nats.go the predialed connection for its first
// dial to that address, and dials anew for any other.
type oneShotDialer struct {
	mu    sync.Mutex
	addr  string
	conn  net.Conn
	fresh bool // it dialled anew
}

// onlyPremade reports that every dial got the premade connection.
func (d *oneShotDialer) onlyPremade() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.fresh
}

func (d *oneShotDialer) Dial(network, address string) (net.Conn, error) {
	d.mu.Lock()
	c := d.conn
	if address == d.addr {
		d.conn = nil
	}
	if c == nil || address != d.addr {
		d.fresh = true
	}
	d.mu.Unlock()
	if c != nil && address == d.addr {
		return c, nil
	}
	return net.DialTimeout(network, address, 5*time.Second)
}
