package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/bgkit/bgkit/bus"
)

// Headers of an event message (evt.NAME.topic).
const (
	// EventSeqHeader numbers the events of one topic of one service
	// instance from 1, in the order they were published, so that a
	// subscriber sees what it missed.
	EventSeqHeader = "Bgkit-Event-Seq"
	// EventSourceHeader identifies the instance that numbered the event
	// (a random id, fresh for each run of Run): the sequence restarts with
	// a new source, and several instances of one name number apart.
	EventSourceHeader = "Bgkit-Event-Source"
	// EventTimeHeader is when the event was emitted, in Unix nanoseconds.
	EventTimeHeader = "Bgkit-Event-Time"
)

// ErrNoBus is returned by Emit for a ctx that does not come from a served
// service (Initialize, Shutdown, a method, or derived from them).
var ErrNoBus = errors.New("not a served service's context")

// emitter publishes the events of one instance, numbered per topic.
type emitter struct {
	source string
	mu     sync.Mutex
	seq    map[string]uint64 // last sequence number of each topic
}

func newEmitter() *emitter { return &emitter{source: nuid.Next(), seq: map[string]uint64{}} }

// Emit publishes v as JSON on evt.<NAME>.<topic>, where NAME is the service
// of ctx (the ctx of Initialize, Shutdown or a method, or one derived from
// them). Events of one service arrive in the order they were emitted; each
// carries EventSeqHeader (numbered per topic), EventSourceHeader and
// EventTimeHeader. Topic is one subject token (see bus.ValidateTopic).
//
// Emit never waits for subscribers: a subscriber that cannot keep up loses
// events, and learns how many from the sequence numbers.
func Emit(ctx context.Context, topic string, v any) error {
	b, ok := BusFrom(ctx)
	e, _ := ctx.Value(emitterKey).(*emitter)
	if !ok || e == nil {
		return fmt.Errorf("emit %s: %w", topic, ErrNoBus)
	}
	name := NameFrom(ctx)
	if err := bus.ValidateTopic(topic); err != nil {
		return fmt.Errorf("emit %s: %w", topic, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("emit %s.%s: encode: %w", name, topic, err)
	}
	m := &nats.Msg{Subject: bus.EventSubject(name, topic), Data: data, Header: make(nats.Header, 3)}
	m.Header[EventSourceHeader] = []string{e.source}
	e.mu.Lock()
	defer e.mu.Unlock()
	seq := e.seq[topic] + 1
	m.Header[EventSeqHeader] = []string{strconv.FormatUint(seq, 10)}
	m.Header[EventTimeHeader] = []string{strconv.FormatInt(time.Now().UnixNano(), 10)}
	if err := b.Conn().PublishMsg(m); err != nil {
		return fmt.Errorf("emit %s.%s: %w", name, topic, err)
	}
	e.seq[topic] = seq
	return nil
}
