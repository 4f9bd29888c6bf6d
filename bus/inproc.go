package bus

import (
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// inProcess connects the owner of an embedded server to it without TCP,
// through a pipe whose writes are buffered.
//
// The server's in-process connection is a net.Pipe: a write returns only
// once the server has read all of it, and nats.go writes while holding
// its connection's lock, so every caller publishing on the connection
// waits for the server to read and parse the previous batch. A TCP
// socket's kernel buffer does not make them wait; this buffer does the
// same without the system calls: a write appends and returns, and a pump
// goroutine hands what has gathered to the pipe in one write.
type inProcess struct{ srv *server.Server }

func (p inProcess) InProcessConn() (net.Conn, error) {
	c, err := p.srv.InProcessConn()
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

func newBufferedConn(c net.Conn) *bufferedConn {
	bc := &bufferedConn{Conn: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	bc.room = sync.NewCond(&bc.mu)
	go bc.pump()
	return bc
}

// maxBuffered bounds what a bufferedConn holds: a writer beyond it waits,
// as with a full socket buffer.
const maxBuffered = 8 << 20

type bufferedConn struct {
	net.Conn
	mu     sync.Mutex
	room   *sync.Cond // signalled when the pump has taken the buffer
	buf    []byte
	spare  []byte
	err    error // of the pipe: every later write fails with it
	closed bool
	wake   chan struct{}
	done   chan struct{} // closed when the pump has stopped
	once   sync.Once
}

func (c *bufferedConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	for c.err == nil && !c.closed && len(c.buf) > 0 && len(c.buf)+len(b) > maxBuffered {
		c.room.Wait()
	}
	switch {
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return 0, err
	case c.closed:
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.buf = append(c.buf, b...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// pump writes what has gathered to the pipe until the connection closes.
func (c *bufferedConn) pump() {
	defer close(c.done)
	for range c.wake {
		for {
			c.mu.Lock()
			out := c.buf
			if len(out) == 0 {
				closed := c.closed
				c.mu.Unlock()
				if closed {
					return
				}
				break
			}
			c.buf, c.spare = c.spare[:0], nil
			c.room.Broadcast()
			c.mu.Unlock()
			_, err := c.Conn.Write(out)
			c.mu.Lock()
			c.spare = out[:0]
			if err != nil && c.err == nil {
				c.err = err
				c.buf = nil
				c.room.Broadcast()
			}
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// SetWriteDeadline is a no-op: a write returns at once (it waits only
// when maxBuffered is held, for the server to read).
func (c *bufferedConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline only (see SetWriteDeadline).
func (c *bufferedConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Close hands what is buffered to the server, within a moment, then
// closes the pipe.
func (c *bufferedConn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.room.Broadcast()
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		select {
		case <-c.done:
		case <-time.After(time.Second):
		}
	})
	return c.Conn.Close()
}
