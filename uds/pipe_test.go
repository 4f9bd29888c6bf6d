package uds_test

import (
	"context"
	"errors"
	"sync"
)

var errPipeClosed = errors.New("pipe closed")

// pipe is one end of an in-memory uds.Transport pair made by newPipe.
type pipe struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   *sync.Once
}

// newPipe returns the two ends of an in-memory transport: what one end
// sends, the other receives. Each direction buffers 16 messages.
func newPipe() (a, b *pipe) {
	ab, ba := make(chan []byte, 16), make(chan []byte, 16)
	closed, once := make(chan struct{}), new(sync.Once)
	return &pipe{in: ba, out: ab, closed: closed, once: once},
		&pipe{in: ab, out: ba, closed: closed, once: once}
}

func (p *pipe) Send(ctx context.Context, msg []byte) error {
	select {
	case <-p.closed:
		return errPipeClosed
	default:
	}
	select {
	case p.out <- append([]byte(nil), msg...):
		return nil
	case <-p.closed:
		return errPipeClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipe) Recv(ctx context.Context) ([]byte, error) {
	select {
	case msg := <-p.in:
		return msg, nil
	case <-p.closed:
		return nil, errPipeClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// queued returns the number of messages waiting to be received at p.
func (p *pipe) queued() int { return len(p.in) }

// Close breaks both ends: every later Send and Recv fails.
func (p *pipe) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}
