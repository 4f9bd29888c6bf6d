package spawn

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sys/unix"

	"github.com/bgkit/bgkit/bus"
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

// predialFor is a connection to the embedded server of b, made and
// authenticated by b's owner for a child it is about to exec: the TCP
// handshake, the server's INFO and its check of the CONNECT (with the
// child's credentials, written at once) happen while the child starts,
// and the child finds the server's answer waiting (see authedConn). It
// returns the descriptor and what was sent on it (nil: nothing); nil for
// an external bus or if the dial fails (the child dials itself).
func predialFor(b *bus.Bus, creds bus.Credentials, name string) (*os.File, []byte) {
	if !b.Embedded() {
		return nil, nil
	}
	u, err := url.Parse(creds.URL)
	if err != nil {
		return nil, nil
	}
	plain := u.Scheme == "nats" && creds.TLSCert == "" && creds.TLSKey == "" && creds.TLSCA == ""
	if ap, err := netip.ParseAddrPort(u.Host); err == nil && ap.Addr().Is4() && plain {
		hello := connectLines(creds, clientName(name))
		if f, err := dialAuthed(ap, hello); err == nil {
			return f, hello
		}
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return nil, nil
	}
	defer c.Close()
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, nil
	}
	f, err := tc.File() // a duplicate descriptor, in blocking mode
	if err != nil {
		return nil, nil
	}
	return f, nil
}

// dialAuthed connects to ap and writes hello on the new socket. The
// connect and the write are blocking system calls, bounded by a send
// timeout: on loopback both are done within the call, where a dial
// through the net package would wait for the poller to report the
// socket writable (a goroutine's wake-up, ~0.1-0.2 ms here).
func dialAuthed(ap netip.AddrPort, hello []byte) (*os.File, error) {
	syscall.ForkLock.RLock() // no exec in between gets the descriptor
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "bgkit-bus-conn")
	err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{Sec: 1})
	if err == nil {
		// What net.Dial sets: the child's small writes go out at once.
		err = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if err == nil {
		err = connectRetry(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
	}
	for len(hello) > 0 && err == nil {
		var n int
		if n, err = unix.Write(fd, hello); err == nil {
			hello = hello[n:]
		} else if err == unix.EINTR {
			err = nil
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// connectRetry is connect(2), again if a signal interrupts it.
func connectRetry(fd int, sa unix.Sockaddr) error {
	for {
		err := unix.Connect(fd, sa)
		if err != unix.EINTR {
			return err
		}
	}
}

// clientName is the name a child's connection gives the server.
func clientName(service string) string { return "bgkit " + service }

// connectLines are the CONNECT and PING that nats.go writes first on a
// connection of a child with creds, byte for byte (see authedConn): the
// fields, their order and their values are nats.go's connectInfo for a
// plain connection to a server with headers.
func connectLines(creds bus.Credentials, name string) []byte {
	info := struct {
		Verbose      bool   `json:"verbose"`
		Pedantic     bool   `json:"pedantic"`
		User         string `json:"user,omitempty"`
		Pass         string `json:"pass,omitempty"`
		TLS          bool   `json:"tls_required"`
		Name         string `json:"name"`
		Lang         string `json:"lang"`
		Version      string `json:"version"`
		Protocol     int    `json:"protocol"`
		Echo         bool   `json:"echo"`
		Headers      bool   `json:"headers"`
		NoResponders bool   `json:"no_responders"`
	}{User: creds.User, Pass: creds.Password, Name: name, Lang: "go", Version: nats.Version,
		Protocol: 1, Echo: true, Headers: true, NoResponders: true}
	b, _ := json.Marshal(info)
	return append(append([]byte("CONNECT "), b...), "\r\nPING\r\n"...)
}

// authedConn is a connection the parent authenticated (predialFor): the
// CONNECT and PING nats.go writes first are dropped when they are what
// the parent sent, and the PONG nats.go then reads is the server's answer
// to the parent's. A CONNECT that differs fails the write, so that the
// child dials anew rather than run with a session it did not ask for.
type authedConn struct {
	net.Conn
	sent []byte // what the parent sent that nats.go has not written yet
}

// errNotSent is a first write that is not what the parent sent.
var errNotSent = errors.New("the connection's CONNECT is not what the parent sent")

func (c *authedConn) Write(b []byte) (int, error) {
	if len(c.sent) == 0 {
		return c.Conn.Write(b)
	}
	n := min(len(b), len(c.sent))
	if !bytes.Equal(b[:n], c.sent[:n]) {
		return 0, errNotSent
	}
	c.sent = c.sent[n:]
	if n == len(b) {
		return n, nil
	}
	m, err := c.Conn.Write(b[n:])
	return n + m, err
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
