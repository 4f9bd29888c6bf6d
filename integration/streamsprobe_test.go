package integration

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// The probe of the events and streams tests, registered here so that
// TestMain stays as it is; registering a constructor dials nothing.
func init() { spawn.Register(NewStreamsProbeService) }

// StreamsProbeArgs configures a StreamsProbeService.
type StreamsProbeArgs struct{}

// StreamsProbeService emits events, streams, blocks, and follows the
// events of another service from its own process.
type StreamsProbeService struct {
	mu   sync.Mutex
	seen []controller.Event
	sub  *controller.Subscription
	ctrl *controller.Controller
	got  chan struct{}
}

func NewStreamsProbeService(StreamsProbeArgs) (*StreamsProbeService, error) {
	return &StreamsProbeService{got: make(chan struct{}, 1)}, nil
}

func (*StreamsProbeService) Initialize(context.Context) error { return nil }

func (s *StreamsProbeService) Shutdown(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub != nil {
		s.sub.Stop()
		s.ctrl.Close()
	}
	return nil
}

// Fire emits n events {"i": 1..n} on topic "tick".
func (*StreamsProbeService) Fire(ctx context.Context, n int) error {
	for i := 1; i <= n; i++ {
		if err := service.Emit(ctx, "tick", streamsTick{I: i, NS: time.Now().UnixNano()}); err != nil {
			return err
		}
	}
	return nil
}

// streamsTick is the value of a "tick" event.
type streamsTick struct {
	I  int   `json:"i"`
	NS int64 `json:"ns"` // when it was emitted
}

// Count streams 1..n.
func (*StreamsProbeService) Count(ctx context.Context, n int) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(i, nil) {
				return
			}
		}
	}, nil
}

// Forever streams until its ctx ends, then emits "stream_ctx_ended" with
// the time (Unix ns) it saw the end.
func (*StreamsProbeService) Forever(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		defer func() {
			<-ctx.Done()
			_ = service.Emit(ctx, "stream_ctx_ended", time.Now().UnixNano())
		}()
		for i := 0; ctx.Err() == nil; i++ {
			if !yield(i, nil) {
				return
			}
		}
	}, nil
}

// EmitAs publishes a forged event on evt.<name>.forged with the child's
// own connection, then a genuine one of its own on "genuine".
func (*StreamsProbeService) EmitAs(ctx context.Context, name string) error {
	b, _ := service.BusFrom(ctx)
	_ = b.Conn().Publish(bus.EventSubject(name, "forged"), []byte("1"))
	return service.Emit(ctx, "genuine", 1)
}

// CallBlock calls block of another service from this process and says
// how the call ended: "exited" for ErrServiceExited, else the error.
func (*StreamsProbeService) CallBlock(ctx context.Context, name string) (string, error) {
	b, _ := service.BusFrom(ctx)
	c, err := controller.Connect(ctx, b, name)
	if err != nil {
		return "", err
	}
	defer c.Close()
	err = c.Call(ctx, "block", nil, nil)
	if errors.Is(err, controller.ErrServiceExited) {
		return "exited", nil
	}
	return errString(err), nil
}

// Block emits "blocked" and waits until its ctx ends.
func (*StreamsProbeService) Block(ctx context.Context) error {
	if err := service.Emit(ctx, "blocked", nil); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// Follow subscribes, from this process, to the events of topic of
// another service; Followed returns what arrived.
func (s *StreamsProbeService) Follow(ctx context.Context, in struct {
	Service string `json:"service"`
	Topic   string `json:"topic"`
}) error {
	b, _ := service.BusFrom(ctx)
	c, err := controller.Connect(ctx, b, in.Service)
	if err != nil {
		return err
	}
	sub, err := c.Subscribe(context.WithoutCancel(ctx), in.Topic, func(e controller.Event) {
		s.mu.Lock()
		s.seen = append(s.seen, e)
		s.mu.Unlock()
		select {
		case s.got <- struct{}{}:
		default:
		}
	})
	if err != nil {
		c.Close()
		return err
	}
	s.mu.Lock()
	s.sub, s.ctrl = sub, c
	s.mu.Unlock()
	return nil
}

// Followed waits until n events arrived (or its ctx ends) and returns them.
func (s *StreamsProbeService) Followed(ctx context.Context, n int) ([]controller.Event, error) {
	for {
		s.mu.Lock()
		seen := append([]controller.Event(nil), s.seen...)
		s.mu.Unlock()
		if len(seen) >= n {
			return seen, nil
		}
		select {
		case <-s.got:
		case <-ctx.Done():
			return seen, errors.New("fewer events than asked for")
		}
	}
}

// streamsExitSeen returns when the exit of the service name became known
// on the bus: the arrival of the parent's exited event on life.NAME (the
// parent publishes it as soon as Wait returns; controllers fail calls in
// flight on it). Subscribed before it returns.
func streamsExitSeen(tb testing.TB, b *bus.Bus, name string) <-chan time.Time {
	at := make(chan time.Time, 1)
	var once sync.Once
	sub, err := b.Conn().Subscribe(bus.LifeSubject(name), func(m *nats.Msg) {
		var ev bus.LifeEvent
		if json.Unmarshal(m.Data, &ev) == nil && ev.Event == bus.LifeExited {
			once.Do(func() { at <- time.Now() })
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := b.Conn().Flush(); err != nil {
		tb.Fatal(err)
	}
	return at
}
