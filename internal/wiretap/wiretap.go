// Package wiretap records what a client writes on the connections it
// dials, for tests that check the bytes on the wire (the CONNECT nats.go
// sends, the order of its subscriptions and publishes).
package wiretap

import (
	"net"
	"strings"
	"sync"
)

// Dialer dials TCP and keeps a copy of everything written on the
// connections it made, in the order written. It is a nats.CustomDialer.
type Dialer struct {
	mu    sync.Mutex
	wrote []byte
}

// Dial implements nats.CustomDialer.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, d: d}, nil
}

// Written is everything written so far.
func (d *Dialer) Written() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return string(d.wrote)
}

// Lines is Written cut at each CRLF (the protocol's line ends).
func (d *Dialer) Lines() []string { return strings.Split(d.Written(), "\r\n") }

type conn struct {
	net.Conn
	d *Dialer
}

func (c *conn) Write(b []byte) (int, error) {
	c.d.mu.Lock()
	c.d.wrote = append(c.d.wrote, b...)
	c.d.mu.Unlock()
	return c.Conn.Write(b)
}
