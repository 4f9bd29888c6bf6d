package controller

import (
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// Reply slots. A call waits for its reply on a slot: a reply subject of its
// own, subscribed once (a channel subscription, so nats.go's reader hands
// the reply straight to the waiting caller) and used by one call at a time.
// A slot whose call got its reply goes back to the pool and is used again,
// so that its subject is one the server has seen before: nats.go's request
// mux sends every request to a fresh inbox, and each fresh subject is a
// miss in the server's subject and permission caches (measured: 5–9 µs of
// a 110 µs call, plus the mux's extra goroutine hop, 4–6 µs).
//
// A slot whose call ended any other way (its ctx, its budget, its service's
// exit, a publish error) is unsubscribed and never used again, so a reply
// that comes late reaches nobody. What reuse does allow: a responder that
// answers one request twice can have its second answer read by the next
// call on that slot. Slots belong to one controller, so only an instance
// of the service the controller calls can do that (the base is
// bus.NewInbox's: a child cannot work out another controller's from its
// own, as it could from a NUID), and bgkit's services answer each request
// once. What overflows
// a slot is dropped (nats.go reports it; the bus logs such errors at most
// once a second).
type replyPool struct {
	nc     *nats.Conn
	base   string // a fresh inbox of nc; slot subjects are base.1, base.2, …
	mu     sync.Mutex
	next   int
	free   []*replySlot
	closed bool
}

// maxIdleSlots bounds the slots kept for reuse; more are unsubscribed when
// their calls end.
const maxIdleSlots = 256

type replySlot struct {
	subject string
	ch      chan *nats.Msg
	sub     *nats.Subscription
	timer   *time.Timer     // the call's budget when its ctx has no deadline
	gone    <-chan struct{} // closed when the subscription ends (the connection closed): bus.Ended
}

func newReplyPool(nc *nats.Conn) *replyPool {
	return &replyPool{nc: nc, base: bus.NewInbox(nc)}
}

// get returns a slot for one call.
func (p *replyPool) get() (*replySlot, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		s.drain()
		return s, nil
	}
	p.next++
	id := p.next
	p.mu.Unlock()
	s := &replySlot{
		subject: p.base + "." + strconv.Itoa(id),
		// Room for a stray message besides the reply, so that a duplicate
		// answer does not make the reply itself a slow-consumer drop.
		ch:    make(chan *nats.Msg, 2),
		timer: time.NewTimer(time.Hour),
	}
	s.timer.Stop()
	sub, err := p.nc.ChanSubscribe(s.subject, s.ch)
	if err != nil {
		return nil, err
	}
	s.sub, s.gone = sub, bus.Ended(sub)
	return s, nil
}

// drain drops what arrived while the slot was idle: it answers no call.
func (s *replySlot) drain() {
	for {
		select {
		case <-s.ch:
		default:
			return
		}
	}
}

// put returns the slot of a call that got its reply.
func (p *replyPool) put(s *replySlot) {
	p.mu.Lock()
	if p.closed || len(p.free) >= maxIdleSlots {
		p.mu.Unlock()
		p.retire(s)
		return
	}
	p.free = append(p.free, s)
	p.mu.Unlock()
}

// retire ends the slot of a call that ended without its reply.
func (p *replyPool) retire(s *replySlot) {
	s.timer.Stop()
	_ = s.sub.Unsubscribe()
}

// close unsubscribes the idle slots; slots in use are unsubscribed when
// their calls end.
func (p *replyPool) close() {
	p.mu.Lock()
	p.closed = true
	free := p.free
	p.free = nil
	p.mu.Unlock()
	for _, s := range free {
		p.retire(s)
	}
}
