package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
)

// ErrServiceExited is matched (errors.Is) by the error of a call or stream
// that was in flight when its service's process exited. The error is an
// [*ExitedError] naming the exit status.
var ErrServiceExited = errors.New("service exited")

// ExitedError says that the service a call was in flight to has exited, as
// its parent (or agent) announced on life.NAME.
type ExitedError struct {
	Service string
	ID      string // the instance id ($SRV id), if announced
	PID     int
	Host    string
	Status  int    // exit code, -1 for a signal
	Signal  string // the signal that killed it, if any
	Reason  string // the parent's description of the exit, if any
}

func (e *ExitedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s", e.Service)
	if e.PID != 0 {
		fmt.Fprintf(&b, " (pid %d)", e.PID)
	}
	b.WriteString(" exited: ")
	switch {
	case e.Reason != "": // the parent's words: "killed by SIGKILL", "exit status 3 …"
		b.WriteString(e.Reason)
	case e.Signal != "":
		fmt.Fprintf(&b, "killed by %s", e.Signal)
	default:
		fmt.Fprintf(&b, "exit status %d", e.Status)
	}
	return b.String()
}

// Is matches ErrServiceExited, and ErrNoService too: an ExitedError is made
// only once no instance of the name is left, so a call that raced with the
// exit reads the same as one made just after it.
func (e *ExitedError) Is(target error) bool {
	return target == ErrServiceExited || target == ErrNoService
}

// Fail-fast timing: how often and how long the controller pings the name
// after an exit event before it gives up deciding (then it fails nothing).
const (
	exitPingEvery = 25 * time.Millisecond
	exitPingFor   = 2 * time.Second
)

// lifeWatch fails the calls in flight of one controller when the last
// instance of its service exits. Calls take the current epoch; an exit
// cancels it (with the ExitedError as cause) and starts a new one.
type lifeWatch struct {
	nc   *nats.Conn
	name string
	mu   sync.Mutex
	ctx  context.Context
	end  context.CancelCauseFunc
	sub  *nats.Subscription
}

func newLifeWatch(nc *nats.Conn, name string) (*lifeWatch, error) {
	w := &lifeWatch{nc: nc, name: name}
	w.ctx, w.end = context.WithCancelCause(context.Background())
	sub, err := nc.Subscribe(bus.LifeSubject(name), w.onLife)
	if err != nil {
		return nil, err
	}
	w.sub = sub
	return w, nil
}

// epoch is the context that ends when the service is seen to exit.
func (w *lifeWatch) epoch() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ctx
}

func (w *lifeWatch) close() {
	_ = w.sub.Unsubscribe()
}

func (w *lifeWatch) onLife(m *nats.Msg) {
	var ev bus.LifeEvent
	if json.Unmarshal(m.Data, &ev) != nil || ev.Event != bus.LifeExited {
		return
	}
	if !w.noInstanceLeft() {
		// Another instance answers (several share the name), the service
		// was restarted already, or the event is forged: fail nothing.
		return
	}
	exit := &ExitedError{Service: w.name, ID: ev.ID, PID: ev.PID, Host: ev.Host,
		Status: ev.Status, Signal: ev.Signal, Reason: ev.Error}
	w.mu.Lock()
	end := w.end
	w.ctx, w.end = context.WithCancelCause(context.Background())
	w.mu.Unlock()
	end(exit)
}

// noInstanceLeft pings the name until the server says nobody serves it
// (true) or an instance answers (false). A dead process's subscriptions
// go when the server sees its connection close, within milliseconds of the
// exit; until then a ping goes unanswered and is repeated.
func (w *lifeWatch) noInstanceLeft() bool {
	deadline := time.Now().Add(exitPingFor)
	for time.Now().Before(deadline) {
		_, err := bus.Request(context.Background(), w.nc, &nats.Msg{Subject: bus.ControlSubject(micro.PingVerb, w.name, "")}, exitPingEvery)
		switch {
		case err == nil:
			return false
		case errors.Is(err, nats.ErrNoResponders):
			return true
		case errors.Is(err, nats.ErrConnectionClosed):
			return false
		}
	}
	return false
}

// exitCause returns the ExitedError that ended ctx, if any.
func exitCause(ctx context.Context) (*ExitedError, bool) {
	var e *ExitedError
	if errors.As(context.Cause(ctx), &e) {
		return e, true
	}
	return nil, false
}

// joinEpoch returns a ctx that ends with parent or with epoch, whichever
// ends first; context.Cause tells which.
func joinEpoch(parent, epoch context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(epoch, func() { cancel(context.Cause(epoch)) })
	return ctx, func() { stop(); cancel(nil) }
}
