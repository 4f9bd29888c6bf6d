package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// EventSeqHeader numbers the events of one service instance from 1, in the
// order they were published, so that a subscriber sees what it missed.
const EventSeqHeader = "Bgkit-Event-Seq"

// ErrNoBus is returned by Emit for a ctx that does not come from a served
// service (Initialize, Shutdown, a method, or derived from them).
var ErrNoBus = errors.New("not a served service's context")

// emitter publishes the events of one instance, numbered in order.
type emitter struct {
	mu  sync.Mutex
	seq uint64
}

// Emit publishes v as JSON on evt.<NAME>.<topic>, where NAME is the service
// of ctx (the ctx of Initialize, Shutdown or a method, or one derived from
// them). Events of one service arrive in the order they were emitted; each
// carries EventSeqHeader. Topic is one subject token (see bus.ValidateTopic).
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
	m := &nats.Msg{Subject: bus.EventSubject(name, topic), Data: data, Header: nats.Header{}}
	e.mu.Lock()
	defer e.mu.Unlock()
	m.Header.Set(EventSeqHeader, strconv.FormatUint(e.seq+1, 10))
	if err := b.Conn().PublishMsg(m); err != nil {
		return fmt.Errorf("emit %s.%s: %w", name, topic, err)
	}
	e.seq++
	return nil
}
