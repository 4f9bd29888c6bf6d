package doip

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"
)

// Errors for conditions callers match.
var (
	// ErrClosed is returned by a Client or Server, and their DiagConns,
	// after Close.
	ErrClosed = errors.New("doip: closed")
	// ErrConnectionLost is returned when the TCP connection ended while a
	// call waited on it. A later DiagConn.Send reconnects (see Client).
	ErrConnectionLost = errors.New("doip: connection lost")
	// ErrTimeout is returned when the peer did not answer in time: no
	// routing activation response, diagnostic ACK or UDP answer within the
	// configured timeout.
	ErrTimeout = errors.New("doip: timeout")
)

// Timing defaults of ISO 13400-2.
const (
	defaultCtrlTimeout       = 2 * time.Second        // A_DoIP_Ctrl, A_DoIP_Diagnostic_Message
	defaultInitialInactivity = 2 * time.Second        // T_TCP_Initial_Inactivity
	defaultGeneralInactivity = 5 * time.Minute        // T_TCP_General_Inactivity
	defaultAliveCheckTimeout = 500 * time.Millisecond // T_TCP_Alive_Check
	writeTimeout             = 5 * time.Second        // one write on a stalled socket
)

// aLongTimeAgo is a deadline that makes blocked I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

// msgWriter writes whole messages to a connection, one at a time.
type msgWriter struct {
	mu      sync.Mutex
	conn    net.Conn
	version byte
	buf     []byte
}

// write sends m with its header. It gives up when ctx ends. A failed write
// may have sent part of the message, so the caller must close the
// connection.
func (w *msgWriter) write(ctx context.Context, m Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := AppendMessage(w.buf[:0], w.version, m)
	if err != nil {
		return err
	}
	if cap(b) <= 4096 {
		w.buf = b
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := interruptOnDone(ctx, w.conn.SetWriteDeadline)
	_, err = w.conn.Write(b)
	stop()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// interruptOnDone sets a past deadline with setDeadline when ctx ends, so
// that blocked I/O returns. The returned function cancels that and returns
// only once setDeadline can no longer be called.
func interruptOnDone(ctx context.Context, setDeadline func(time.Time) error) (stop func()) {
	fired := make(chan struct{})
	stopFunc := context.AfterFunc(ctx, func() {
		_ = setDeadline(aLongTimeAgo)
		close(fired)
	})
	return func() {
		if !stopFunc() {
			<-fired
		}
	}
}

// withPort adds the DoIP port to addr when it has none.
func withPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	return net.JoinHostPort(addr, "13400")
}
