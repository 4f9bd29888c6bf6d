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
// is busy; further events are dropped and counted (see [Event].Missed).
const EventBuffer = 65536

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
	msgs chan *nats.Msg
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// last sequence number seen per instance and topic; used by the
	// delivery goroutine only.
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
	s := &Subscription{
		msgs: make(chan *nats.Msg, EventBuffer),
		quit: make(chan struct{}),
		done: make(chan struct{}),
		last: map[seqKey]uint64{},
	}
	sub, err := c.nc.ChanSubscribe(subject, s.msgs)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	s.sub = sub
	fctx, cancel := c.withDeadline(ctx)
	err = c.nc.FlushWithContext(fctx)
	cancel()
	if err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	go s.run(ctx, fn)
	return s, nil
}

func (s *Subscription) run(ctx context.Context, fn func(Event)) {
	defer close(s.done)
	for {
		select {
		case m := <-s.msgs:
			if e, ok := s.event(m); ok {
				fn(e)
			}
		case <-ctx.Done():
			_ = s.sub.Unsubscribe()
			return
		case <-s.quit:
			return
		}
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
	s.once.Do(func() {
		_ = s.sub.Unsubscribe()
		close(s.quit)
	})
	<-s.done
}

// Dropped is how many events were dropped because the callback did not
// keep up, including ones no later event could report.
func (s *Subscription) Dropped() int {
	n, _ := s.sub.Dropped()
	return n
}
