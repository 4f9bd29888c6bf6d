package bus

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// NewInbox returns a fresh inbox subject under nc's inbox prefix whose
// last token is 26 characters from crypto/rand (130 bits).
//
// nats.go's own are not for subjects a child must not reach: NewInbox
// ends with a NUID, and a process's NUIDs are sequential (each the last
// plus one increment, chosen once among 300), so a child that saw one of
// them — the reply subject of any call made to it — can work out the
// inboxes drawn before and after it among a few thousand candidates and
// publish into them (children may publish on _INBOX.>, where their
// replies go). Request's replies go to a NUID and a token from math/rand
// seeded with the connection's start time. A reply slot, a stream's
// inbox or an answer bgkit trusts is made here instead.
func NewInbox(nc *nats.Conn) string {
	in := nc.NewInbox() // the prefix: _INBOX or the connection's own
	return in[:strings.LastIndexByte(in, '.')+1] + rand.Text()
}

// Request sends m and waits for its first reply on an inbox of NewInbox's,
// for as long as ctx allows (a ctx without deadline waits at most timeout;
// timeout 0 means no bound but ctx's). It fails with nats.ErrNoResponders
// when nobody subscribes to m's subject, as nc.RequestMsg does. m.Reply is
// overwritten.
//
// It costs a subscription per request (nats.go's Request shares one):
// for the requests whose answer bgkit acts on — pings that say a service
// is there, grants, an agent's spawn — not for calls, which use reply
// slots of the same kind.
func Request(ctx context.Context, nc *nats.Conn, m *nats.Msg, timeout time.Duration) (*nats.Msg, error) {
	wctx := ctx
	if _, ok := ctx.Deadline(); !ok && timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	m.Reply = NewInbox(nc)
	// A channel subscription, not SubscribeSync: that one makes a channel
	// of 65,536 messages (512 KiB zeroed, ~0.25 ms) for each request.
	replies := make(chan *nats.Msg, 2)
	sub, err := nc.ChanSubscribe(m.Reply, replies)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	gone := Ended(sub) // before AutoUnsubscribe: the reply itself ends sub
	_ = sub.AutoUnsubscribe(1)
	if err := nc.PublishMsg(m); err != nil {
		return nil, err
	}
	var reply *nats.Msg
	select {
	case reply = <-replies:
	case <-wctx.Done():
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr // the caller's ctx, as nc.RequestMsgWithContext
		}
		return nil, nats.ErrTimeout // as nc.Request with a timeout
	case <-gone:
		select {
		case reply = <-replies: // delivered as the subscription ended
		default:
			return nil, nats.ErrConnectionClosed
		}
	}
	if len(reply.Data) == 0 && reply.Header.Get("Status") == "503" {
		return nil, nats.ErrNoResponders
	}
	return reply, nil
}

// Ended returns a channel that is closed when sub ends: when it is
// unsubscribed (by Unsubscribe, or by nats.go once the last message
// AutoUnsubscribe allows is in sub's channel), drained, or when its
// connection closes. A wait on a channel subscription selects on it too:
// nothing else says that no message will come. The channel is closed at
// once if sub has already ended, and only once however often nats.go
// reports the end.
//
// Ended takes sub's closed handler ([nats.Subscription.SetClosedHandler])
// for itself: call it once per subscription, and set no other.
func Ended(sub *nats.Subscription) <-chan struct{} {
	gone := make(chan struct{})
	var once sync.Once
	end := func() { once.Do(func() { close(gone) }) }
	sub.SetClosedHandler(func(string) { end() })
	if !sub.IsValid() { // it ended before the handler was set: that never runs
		end()
	}
	return gone
}
