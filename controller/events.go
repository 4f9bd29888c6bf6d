package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// EventBuffer is how many events a [Subscription] holds for a callback that
// is busy, and EventBufferBytes how many bytes of them; further events are
// dropped and counted (see [Event].Missed).
const (
	EventBuffer      = 65536
	EventBufferBytes = 64 << 20
)

// Event is one event a service emitted with service.Emit.
type Event struct {
	Service string          // the service name
	Topic   string          // the topic it was emitted on
	Time    time.Time       // when it was emitted (the service's clock)
	Data    json.RawMessage // the JSON of the value
	// Seq numbers the events of this topic from one instance, from 1.
	Seq uint64
	// Missed counts the events of this topic from the same instance that
	// were lost since the previous one delivered (the subscriber did not
	// keep up). Events lost after the last one delivered are not counted.
	Missed uint64
}

// Decode decodes the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode event %s.%s: %w", e.Service, e.Topic, err)
	}
	return nil
}

// Subscription delivers the events of a service to a callback, one at a
// time and in the order of each instance. Stop it when done.
type Subscription struct {
	sub  *nats.Subscription
	fn   func(Event)
	stop func() bool // of the context.AfterFunc that stops it with its ctx
	// mu is held while fn runs, so that Stop can wait for it; stopped
	// (under mu) keeps fn from running again.
	mu      sync.Mutex
	stopped bool
	// last sequence number seen per instance and topic; used by the
	// delivery goroutine only (the client library's, one per subscription).
	last map[seqKey]uint64
}

// seqKey names one numbering: an instance's topic.
type seqKey struct{ source, topic string }

// Subscribe calls fn for every event of topic that the service emits from
// now on ("" for every topic). fn runs on one goroutine of the
// subscription, so events arrive one at a time, in the order each instance
// emitted them. A callback that cannot keep up never slows the service:
// after EventBuffer waiting events, further ones are dropped, and the next
// event delivered says how many were missed ([Event].Missed).
//
// The subscription is in place when Subscribe returns. It ends with Stop,
// when ctx ends, or when the bus closes.
func (c *Controller) Subscribe(ctx context.Context, topic string, fn func(Event)) (*Subscription, error) {
	subject := bus.EventWildcard(c.name)
	if topic != "" {
		if err := bus.ValidateTopic(topic); err != nil {
			return nil, fmt.Errorf("subscribe %s: %w", c.name, err)
		}
		subject = bus.EventSubject(c.name, topic)
	}
	s := &Subscription{fn: fn, last: map[seqKey]uint64{}}
	// An asynchronous subscription: the client library delivers on one
	// goroutine of its own, in order, and bounds what waits in number and
	// bytes (a channel subscription bounds only the number: 65,536 events
	// of 1 MiB would all wait).
	sub, err := c.nc.Subscribe(subject, s.deliver)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	s.sub = sub
	if err := sub.SetPendingLimits(EventBuffer, EventBufferBytes); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	fctx, cancel := c.withDeadline(ctx)
	err = c.nc.FlushWithContext(fctx)
	cancel()
	if err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	s.stop = context.AfterFunc(ctx, s.end)
	return s, nil
}

// deliver is the subscription's callback.
func (s *Subscription) deliver(m *nats.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if e, ok := s.event(m); ok {
		s.fn(e)
	}
}

// end waits for a callback in progress and unsubscribes.
func (s *Subscription) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stopped = true
		_ = s.sub.Unsubscribe()
	}
}

// maxSources bounds the per-instance sequence table.
const maxSources = 4096

func (s *Subscription) event(m *nats.Msg) (Event, bool) {
	rest, ok := strings.CutPrefix(m.Subject, bus.EventPrefix)
	if !ok {
		return Event{}, false
	}
	name, topic, ok := strings.Cut(rest, ".")
	if !ok {
		return Event{}, false
	}
	e := Event{Service: name, Topic: topic, Data: json.RawMessage(m.Data)}
	if m.Header != nil {
		if ns, err := strconv.ParseInt(m.Header.Get(service.EventTimeHeader), 10, 64); err == nil {
			e.Time = time.Unix(0, ns)
		}
		e.Seq, _ = strconv.ParseUint(m.Header.Get(service.EventSeqHeader), 10, 64)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Seq > 0 {
		key := seqKey{m.Header.Get(service.EventSourceHeader), topic}
		last, seen := s.last[key]
		if seen && e.Seq > last {
			e.Missed = e.Seq - last - 1 // no overflow: Seq > last
		}
		if !seen && len(s.last) >= maxSources {
			clear(s.last)
		}
		s.last[key] = e.Seq
	}
	return e, true
}

// Stop ends the subscription and returns after the callback has returned
// (do not call it from the callback). It is idempotent.
func (s *Subscription) Stop() {
	s.stop()
	s.end()
}

// Dropped is how many events were dropped because the callback did not
// keep up, including ones no later event could report.
func (s *Subscription) Dropped() int {
	n, _ := s.sub.Dropped()
	return n
}
