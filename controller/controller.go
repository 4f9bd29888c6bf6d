package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/localsvc"
	"github.com/bgkit/bgkit/service"
)

// ErrNoService means nobody serves the name: the call failed at once, not
// after a timeout.
var ErrNoService = errors.New("no service")

// DefaultTimeout bounds a call whose ctx has no deadline.
const DefaultTimeout = 10 * time.Second

// Controller calls the methods of one service by name. It is safe for
// concurrent use. A typed controller embeds *Controller and wraps Call.
type Controller struct {
	nc      *nats.Conn
	name    string
	timeout time.Duration
	prefix  atomic.Bool // the service reads the budget prefix (service.AppendTimeoutPrefix)
	life    *lifeWatch
	replies *replyPool
}

// Option configures Connect.
type Option func(*Controller)

// WithTimeout sets the time budget of calls whose ctx has no deadline
// (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *Controller) { c.timeout = d } }

// Connect returns a controller for the service called name on b. It checks
// that the service answers (a $SRV.PING) and returns ErrNoService at once
// when nobody serves the name; a service that a child of this process,
// spawned on b, serves needs no check (spawn saw it ready and sees its
// exit), which spares a spawn-then-connect the round trip.
func Connect(ctx context.Context, b *bus.Bus, name string, opts ...Option) (*Controller, error) {
	if err := bus.ValidateName(name); err != nil {
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	c := &Controller{nc: b.Conn(), name: name, timeout: DefaultTimeout, replies: newReplyPool(b.Conn())}
	for _, opt := range opts {
		opt(c)
	}
	life, err := newLifeWatch(c.nc, name)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	c.life = life
	if localsvc.Serving(c.nc, name) {
		// This process's own child serves it: spawn saw it ready, and
		// sees its exit. It runs this binary, which reads the prefix.
		c.prefix.Store(true)
		return c, nil
	}
	md, err := c.ping(ctx)
	if err != nil {
		life.close()
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	c.prefix.Store(md[service.MetadataTimeoutPrefix] == "1")
	return c, nil
}

// Name is the service name.
func (c *Controller) Name() string { return c.name }

// Ping checks that at least one instance of the service answers.
func (c *Controller) Ping(ctx context.Context) error {
	_, err := c.ping(ctx)
	return err
}

// ping returns the service-level metadata of the instance that answered.
func (c *Controller) ping(ctx context.Context) (map[string]string, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	reply, err := bus.Request(ctx, c.nc, &nats.Msg{Subject: bus.ControlSubject(micro.PingVerb, c.name, "")}, 0)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoService
	}
	if err != nil {
		return nil, err
	}
	var pong struct {
		Metadata map[string]string `json:"metadata"`
	}
	_ = json.Unmarshal(reply.Data, &pong) // an answer is an answer; without metadata, no prefix
	return pong.Metadata, nil
}

func (c *Controller) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// Call invokes method with in encoded as JSON (nil sends no input) and
// decodes the reply into out (nil discards it). A service-side error is a
// *ServiceError; a name nobody serves is ErrNoService.
func (c *Controller) Call(ctx context.Context, method string, in, out any) error {
	var data []byte
	if in != nil {
		var err error
		if data, err = service.EncodeJSON(in); err != nil {
			return fmt.Errorf("call %s.%s: encode input: %w", c.name, method, err)
		}
	}
	reply, err := c.CallRaw(ctx, method, data)
	if err != nil {
		return err
	}
	if out != nil {
		if err := service.DecodeJSON(reply, out); err != nil {
			return fmt.Errorf("call %s.%s: decode reply %q: %w", c.name, method, truncate(reply), err)
		}
	}
	return nil
}

// CallRaw sends data as the input of method and returns the raw reply.
//
// The call waits on a reply slot (see replyPool) for its reply, its ctx,
// its budget (the controller's timeout when ctx has no deadline) and the
// service's exit (see lifeWatch), so that a call in flight fails fast.
func (c *Controller) CallRaw(ctx context.Context, method string, data []byte) ([]byte, error) {
	if method == "" { // svc.NAME. matches no subscription: "no responders" would read as ErrNoService
		return nil, fmt.Errorf("call %s: empty method name", c.name)
	}
	reply, err := c.request(ctx, method, data)
	if err != nil {
		return nil, fmt.Errorf("call %s.%s: %w", c.name, method, err)
	}
	if reply.Header != nil {
		if noResponders(reply) {
			return nil, fmt.Errorf("call %s.%s: %w", c.name, method, ErrNoService)
		}
		if code, msg, failed := bus.ReplyError(reply); failed {
			atDeadline(ctx, code)
			return nil, &ServiceError{Service: c.name, Method: method, Code: code, Message: msg}
		}
	}
	return reply.Data, nil
}

// budgetMillis is the time left until dl for TimeoutHeader or the budget
// prefix, in whole milliseconds rounded up: the service's deadline (its
// receipt plus the budget) then never comes before the caller's, so that
// a call or stream it ends at the deadline (504) ends after the caller's
// ctx has; and a budget under a millisecond is still one.
func budgetMS(dl time.Time) string { return strconv.FormatInt(budgetMillis(dl), 10) }

func budgetMillis(dl time.Time) int64 {
	return int64((time.Until(dl) + time.Millisecond - 1) / time.Millisecond)
}

// atDeadline waits, for a 504, until ctx has ended too (at most
// deadlineSlack). The service's deadline is not before the caller's (see
// budgetMS), but a ctx ends when its timer has run, which can be a moment
// after the service's has: a caller that checks ctx.Err() after the error
// should find its deadline passed.
func atDeadline(ctx context.Context, code int) {
	if _, ok := ctx.Deadline(); !ok || code != service.CodeDeadline {
		return
	}
	t := time.NewTimer(deadlineSlack)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// deadlineSlack bounds atDeadline's wait: a service that answers 504
// well before the caller's deadline is not waited for.
const deadlineSlack = 5 * time.Millisecond

func (c *Controller) request(ctx context.Context, method string, data []byte) (*nats.Msg, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := &nats.Msg{Subject: bus.ServiceSubject(c.name, method), Data: data}
	dl, deadline := ctx.Deadline()
	prefixed := deadline && c.prefix.Load()
	switch {
	case prefixed: // a header costs 5–10 µs in NATS; the prefix nothing measurable
		m.Data = append(service.AppendTimeoutPrefix(make([]byte, 0, len(data)+16), budgetMillis(dl)), data...)
	case deadline:
		m.Header = nats.Header{service.TimeoutHeader: {budgetMS(dl)}}
	}
	s, err := c.replies.get()
	if err != nil {
		return nil, err
	}
	m.Reply = s.subject
	epoch := c.life.epoch()
	if err := c.nc.PublishMsg(m); err != nil {
		c.replies.retire(s)
		return nil, err
	}
	var budget <-chan time.Time // the default budget is not the caller's: no header
	if !deadline {
		s.timer.Reset(c.timeout)
		budget = s.timer.C
	}
	select {
	case reply := <-s.ch:
		if !deadline {
			s.timer.Stop()
		}
		c.replies.put(s)
		if prefixed && prefixRefused(reply, len(data) == 0) {
			// An instance that does not read the prefix (of another
			// version than the one that answered Connect's ping): the
			// method did not run. The header from now on.
			c.prefix.Store(false)
			return c.request(ctx, method, data)
		}
		return reply, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-epoch.Done():
		err = context.Cause(epoch) // the *ExitedError
	case <-budget:
		err = context.DeadlineExceeded
		if ctx.Done() == nil {
			err = nats.ErrTimeout // nothing to cancel: as nats.Request with a timeout
		}
	case <-s.gone:
		err = nats.ErrConnectionClosed
	}
	c.replies.retire(s)
	return nil, err
}

// prefixRefused reports a 400 that says the service took the budget
// prefix for its input: its message quotes the prefix at the start of the
// body (Go's encoding/json as "invalid character '\x1e' looking for
// beginning of value", strconv as "\x1e123\n…"), which a service that
// reads prefixes names only as "timeout prefix"; or, for a call without
// input (noInput), a bgkit service of an earlier version saying that a
// method without argument got some bytes.
func prefixRefused(m *nats.Msg, noInput bool) bool {
	code, msg, failed := bus.ReplyError(m)
	if !failed || code != service.CodeBadRequest {
		return false
	}
	// The prefix itself, as the decoders quote it: a method's own 400 may
	// quote an input that holds RS elsewhere (its method ran: the call is
	// not to be sent again).
	refused := strings.Contains(msg, `invalid character '\x1e' looking for beginning of value`) ||
		quotedPrefix.MatchString(msg)
	return refused && !strings.Contains(msg, "timeout prefix") ||
		noInput && strings.Contains(msg, "takes no argument; got")
}

// quotedPrefix is the budget prefix (RS, digits, LF) at the start of a
// string quoted by strconv (%q).
var quotedPrefix = regexp.MustCompile(`"\\x1e[0-9]+\\n`)

// noResponders reports the server's answer to a request nobody serves.
func noResponders(m *nats.Msg) bool {
	return len(m.Data) == 0 && m.Header.Get("Status") == "503"
}

// Close releases the controller (its subscription to the service's
// lifecycle events). The bus stays open. Calls after Close do not fail
// fast on the service's exit.
func (c *Controller) Close() error {
	c.life.close()
	c.replies.close()
	return nil
}

func truncate(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}
