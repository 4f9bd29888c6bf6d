package controller_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type streamProbe struct {
	produced atomic.Int64
	ctxEnded chan time.Time
}

func (*streamProbe) Initialize(context.Context) error { return nil }
func (*streamProbe) Shutdown(context.Context) error   { return nil }

// Count yields 1..n.
func (p *streamProbe) Count(ctx context.Context, n int) (iter.Seq2[int, error], error) {
	if n < 0 {
		return nil, service.BadRequest(errors.New("negative count"))
	}
	return func(yield func(int, error) bool) {
		for i := 1; i <= n; i++ {
			p.produced.Store(int64(i))
			if !yield(i, nil) {
				return
			}
		}
	}, nil
}

// Forever yields until its ctx ends, then reports when.
func (p *streamProbe) Forever(ctx context.Context) (iter.Seq2[string, error], error) {
	return func(yield func(string, error) bool) {
		defer func() { p.ctxEnded <- time.Now() }()
		for i := 0; ; i++ {
			p.produced.Store(int64(i))
			if ctx.Err() != nil || !yield("tick", nil) {
				<-ctx.Done()
				return
			}
		}
	}, nil
}

// Fail yields two items, then an error.
func (p *streamProbe) Fail(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		_ = yield(1, nil) && yield(2, nil) && yield(0, errors.New("sensor broke"))
	}, nil
}

func (p *streamProbe) Plain(ctx context.Context) (int, error) { return 7, nil }

// Slow yields an item every 10 ms until its ctx ends, and then returns
// as a producer that honours its ctx does: without an error.
func (p *streamProbe) Slow(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !yield(i, nil) {
					return
				}
			}
		}
	}, nil
}

// Hold returns its ctx's error when the ctx ends.
func (p *streamProbe) Hold(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func startStreamProbe(t *testing.T) (*controller.Controller, *streamProbe) {
	t.Helper()
	b := bgkittest.Bus(t)
	p := &streamProbe{ctxEnded: make(chan time.Time, 1)}
	bgkittest.Serve(t, b, p, service.WithName("STREAMER"))
	c, err := controller.Connect(t.Context(), b, "STREAMER")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, p
}

func TestStreamAllItemsInOrder(t *testing.T) {
	c, _ := startStreamProbe(t)
	const n = 50_000
	want := 1
	for v, err := range controller.StreamOf[int](t.Context(), c, "count", n) {
		if err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Fatalf("item %d = %d", want, v)
		}
		want++
	}
	if want != n+1 {
		t.Fatalf("got %d items, want %d", want-1, n)
	}
}

func TestStreamSlowReaderSlowsProducer(t *testing.T) {
	c, p := startStreamProbe(t)
	i := 0
	for _, err := range controller.StreamOf[int](t.Context(), c, "count", 1_000_000) {
		if err != nil {
			t.Fatal(err)
		}
		i++
		if i == 10 {
			time.Sleep(200 * time.Millisecond) // let the producer run ahead as far as it may
			ahead := p.produced.Load() - int64(i)
			// window of 2 pulls of 1,000 + the service's buffer of 256 + one in hand
			if ahead > 2*1000+256+1000+2 {
				t.Fatalf("the producer ran %d items ahead of a paused reader", ahead)
			}
			t.Logf("producer %d items ahead of a paused reader", ahead)
			break
		}
	}
}

func TestStreamBreakEndsMethodCtx(t *testing.T) {
	c, p := startStreamProbe(t)
	for range c.Stream(t.Context(), "forever", nil) {
		break
	}
	left := time.Now()
	select {
	case at := <-p.ctxEnded:
		if d := at.Sub(left); d > 100*time.Millisecond+failFastMargin {
			t.Errorf("the method's ctx ended %v after the loop was left", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the method's ctx did not end after the loop was left")
	}
}

func TestStreamCancelEndsMethodCtx(t *testing.T) {
	c, p := startStreamProbe(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var err error
	n := 0
	for _, e := range c.Stream(ctx, "forever", nil) {
		if e != nil {
			err = e
			break
		}
		if n++; n == 100 {
			cancel()
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	select {
	case <-p.ctxEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the method's ctx did not end after the caller's ctx")
	}
}

func TestStreamErrors(t *testing.T) {
	c, _ := startStreamProbe(t)
	tests := []struct {
		name    string
		method  string
		in      any
		items   int
		wantErr error
		msg     string
	}{
		{name: "item error", method: "fail", items: 2, wantErr: controller.ErrServiceFailed, msg: "sensor broke"},
		{name: "method error", method: "count", in: -1, wantErr: controller.ErrBadRequest, msg: "negative count"},
		{name: "bad input", method: "count", in: "x", wantErr: controller.ErrBadRequest},
		{name: "not a stream", method: "plain", wantErr: controller.ErrBadRequest, msg: "not a stream"},
		{name: "unknown", method: "nope", wantErr: controller.ErrUnknownMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := 0
			var err error
			for _, e := range c.Stream(t.Context(), tt.method, tt.in) {
				if e != nil {
					err = e
					break
				}
				items++
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.msg) || items != tt.items {
				t.Fatalf("%d items, err %v; want %d items, %v containing %q", items, err, tt.items, tt.wantErr, tt.msg)
			}
		})
	}
	// A plain call of a stream is refused with a clear message.
	if err := c.Call(t.Context(), "count", 3, nil); !errors.Is(err, controller.ErrBadRequest) || !strings.Contains(err.Error(), "is a stream") {
		t.Fatalf("Call of a stream: %v", err)
	}
}

// A stream or call cut short by the caller's deadline says so: the
// service sees the deadline (from the timeout header) a moment before the
// caller, and its end must not read as a stream that ended by itself or
// as the method's own failure.
func TestDeadlineEndsAreDeadlines(t *testing.T) {
	c, _ := startStreamProbe(t)
	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		items := 0
		var err error
		for _, e := range c.Stream(ctx, "slow", nil) {
			if e != nil {
				err = e
				break
			}
			items++
		}
		ctxErr := ctx.Err() // when the loop ends: the caller's deadline has passed
		cancel()
		if items == 0 || !errors.Is(err, context.DeadlineExceeded) || ctxErr == nil {
			t.Fatalf("stream cut by its deadline: %d items, err %v, ctx %v; want items, context.DeadlineExceeded and the ctx done", items, err, ctxErr)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
		err = c.Call(ctx, "hold", nil, nil)
		ctxErr = ctx.Err()
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ctxErr == nil {
			t.Fatalf("call cut by its deadline: %v, ctx %v; want context.DeadlineExceeded and the ctx done", err, ctxErr)
		}
	}
}

// The service drops a stream's subscription just before it sends the end:
// a pull that reaches the server in between is answered "no responders"
// before the end arrives. That stream ended; it is not lost.
func TestStreamEndAfterNoResponders(t *testing.T) {
	b := bgkittest.Bus(t)
	nc, _ := rawService(t, b)
	pulls := make(chan *nats.Msg, 100)
	streamSubject := nc.NewInbox()
	if _, err := nc.ChanSubscribe(streamSubject, pulls); err != nil {
		t.Fatal(err)
	}
	opensStreamAt(t, nc, streamSubject)
	c := connectECHO(t, b)
	done := make(chan struct{})
	var items []string
	var streamErr error
	go func() {
		defer close(done)
		for it, err := range c.Stream(t.Context(), "items", nil) {
			if err != nil {
				streamErr = err
				return
			}
			items = append(items, string(it))
		}
	}()
	first, second := <-pulls, <-pulls // the window's first two pulls
	if err := first.Respond([]byte("1\n2\n")); err != nil {
		t.Fatal(err)
	}
	// What the server says to a pull once the subscription is gone...
	gone := nats.NewMsg(second.Reply)
	gone.Header.Set("Status", "503")
	if err := nc.PublishMsg(gone); err != nil {
		t.Fatal(err)
	}
	// ...then the end, answering a pull the service still had.
	third := <-pulls
	end := nats.NewMsg(third.Reply)
	end.Data = []byte("3\n")
	end.Header.Set(service.StreamEndHeader, "1")
	if err := nc.PublishMsg(end); err != nil {
		t.Fatal(err)
	}
	<-done
	if streamErr != nil || strings.Join(items, ",") != "1,2,3" {
		t.Fatalf("items %v, err %v; want 1,2,3 and a clean end", items, streamErr)
	}
}

// TestStreamSubjectMustBeAnInbox: the subject a service names for its
// stream is where the controller sends pulls, pings and "stop" with its
// own, unscoped credentials. One outside the inbox namespace (here
// another service's method) is refused, and nothing is sent there:
// otherwise a hostile service could make its caller call anything.
func TestStreamSubjectMustBeAnInbox(t *testing.T) {
	b := bgkittest.Bus(t)
	nc, _ := rawService(t, b)
	victim := make(chan *nats.Msg, 100)
	if _, err := b.Conn().ChanSubscribe("svc.VICTIM.>", victim); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"svc.VICTIM.reset", "svc.VICTIM.*", "_INBOX.ok but spaced"} {
		opensStreamAt(t, nc, target)
		c := connectECHO(t, b)
		var streamErr error
		for _, err := range c.Stream(t.Context(), "items", nil) {
			streamErr = err
			break
		}
		if streamErr == nil || !strings.Contains(streamErr.Error(), "stream subject") {
			t.Errorf("stream subject %q: err %v, want it refused", target, streamErr)
		}
		nc.Close()
		nc, _ = rawService(t, b)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if len(victim) > 0 {
		m := <-victim
		t.Fatalf("the controller sent %q to %s", m.Data, m.Subject)
	}
}

// opensStreamAt makes nc answer every open of ECHO.items with stream
// subject subject, and waits until the server has the subscription.
func opensStreamAt(t *testing.T, nc *nats.Conn, subject string) {
	t.Helper()
	if _, err := nc.Subscribe(bus.ServiceSubject("ECHO", "items"), func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set(service.StreamHeader, subject)
		_ = m.RespondMsg(r)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}
