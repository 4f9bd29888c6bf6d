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

// emitter publishes the events of one instance, numbered per topic. It
// reuses one message and header (PublishMsg copies them out before it
// returns), as logfwd does.
type emitter struct {
	source string
	mu     sync.Mutex
	topics map[string]*topicState
	msg    nats.Msg
	seqV   []string
	timeV  []string
	buf    []byte
}

// topicState is the subject and last sequence number of one topic.
type topicState struct {
	subject string
	seq     uint64
}

func newEmitter() *emitter {
	e := &emitter{source: nuid.Next(), topics: map[string]*topicState{},
		seqV: make([]string, 1), timeV: make([]string, 1)}
	e.msg.Header = nats.Header{
		EventSourceHeader: {e.source},
		EventSeqHeader:    e.seqV,
		EventTimeHeader:   e.timeV,
	}
	return e
}

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
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("emit %s.%s: encode: %w", NameFrom(ctx), topic, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.topics[topic]
	if ts == nil {
		if err := bus.ValidateTopic(topic); err != nil {
			return fmt.Errorf("emit %s: %w", topic, err)
		}
		ts = &topicState{subject: bus.EventSubject(NameFrom(ctx), topic)}
		e.topics[topic] = ts
	}
	e.buf = strconv.AppendUint(e.buf[:0], ts.seq+1, 10)
	e.seqV[0] = string(e.buf)
	e.buf = strconv.AppendInt(e.buf[:0], time.Now().UnixNano(), 10)
	e.timeV[0] = string(e.buf)
	e.msg.Subject, e.msg.Data = ts.subject, data
	err = b.Conn().PublishMsg(&e.msg)
	e.msg.Data = nil
	if err != nil {
		return fmt.Errorf("emit %s: %w", ts.subject, err)
	}
	ts.seq++
	return nil
}
