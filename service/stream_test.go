package service_test

import (
	"context"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/service"
)

type wireStreamer struct{ ended chan struct{} }

func (wireStreamer) Initialize(context.Context) error { return nil }
func (wireStreamer) Shutdown(context.Context) error   { return nil }

// Letters yields the letters of s, then waits for its ctx when wait is set.
func (w wireStreamer) Letters(ctx context.Context, in struct {
	S    string `json:"s"`
	Wait bool   `json:"wait"`
}) (iter.Seq2[string, error], error) {
	return func(yield func(string, error) bool) {
		defer close(w.ended)
		for _, r := range in.S {
			if !yield(string(r), nil) {
				return
			}
		}
		if in.Wait {
			<-ctx.Done()
		}
	}, nil
}

func openRaw(t *testing.T, nc *nats.Conn, body string, idleMS string) string {
	t.Helper()
	m := nats.NewMsg("svc.WIRE_STREAMER.letters")
	m.Data = []byte(body)
	m.Header.Set(service.StreamHeader, "open")
	if idleMS != "" {
		m.Header.Set(service.StreamIdleHeader, idleMS)
	}
	r, err := nc.RequestMsg(m, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	subj := r.Header.Get(service.StreamHeader)
	if !strings.HasPrefix(subj, "_INBOX.") {
		t.Fatalf("open reply: header %v", r.Header)
	}
	return subj
}

// The wire protocol of the package doc, spoken by a plain NATS client.
func TestStreamWireProtocol(t *testing.T) {
	b := bgkittest.Bus(t)
	w := wireStreamer{ended: make(chan struct{})}
	bgkittest.Serve(t, b, w)
	nc := b.Conn()
	subj := openRaw(t, nc, `{"s":"abcde"}`, "")
	var got []string
	for end := false; !end; {
		r, err := nc.Request(subj, []byte("2"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(r.Data), "\n"), "\n")
		if len(r.Data) > 0 && len(lines) > 2 {
			t.Fatalf("a pull of 2 got %d items", len(lines))
		}
		if len(r.Data) > 0 {
			got = append(got, lines...)
		}
		end = r.Header.Get(service.StreamEndHeader) == "1"
	}
	if strings.Join(got, "") != `"a""b""c""d""e"` {
		t.Fatalf("items %q", got)
	}
	// The stream's subject is gone after the end.
	if _, err := nc.Request(subj, nil, 5*time.Second); err != nats.ErrNoResponders {
		t.Fatalf("pull after the end: %v, want no responders", err)
	}
}

func TestStreamWireStop(t *testing.T) {
	b := bgkittest.Bus(t)
	w := wireStreamer{ended: make(chan struct{})}
	bgkittest.Serve(t, b, w)
	subj := openRaw(t, b.Conn(), `{"s":"ab","wait":true}`, "")
	r, err := b.Conn().Request(subj, []byte("stop"), 5*time.Second)
	if err != nil || r.Header.Get(service.StreamEndHeader) != "1" {
		t.Fatalf("stop: %v %v", err, r)
	}
	select {
	case <-w.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not end the method's ctx")
	}
}

// A caller that goes silent (dead) has its stream ended after the idle
// time it asked for.
func TestStreamSilentCallerEnded(t *testing.T) {
	b := bgkittest.Bus(t)
	w := wireStreamer{ended: make(chan struct{})}
	bgkittest.Serve(t, b, w)
	start := time.Now()
	openRaw(t, b.Conn(), `{"s":"ab","wait":true}`, "200")
	select {
	case <-w.ended:
		t.Logf("ended %v after the open (idle 200 ms)", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("a silent caller's stream was not ended")
	}
}

// A stream open when the service shuts down ends with the end marker and
// a 503, and Run returns.
func TestStreamEndsAtShutdown(t *testing.T) {
	b := bgkittest.Bus(t)
	w := wireStreamer{ended: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, w, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	subj := openRaw(t, b.Conn(), `{"s":"","wait":true}`, "")
	replies := make(chan *nats.Msg, 1)
	sub, _ := b.Conn().ChanSubscribe("_INBOX.shutdowntest.*", replies)
	defer sub.Unsubscribe()
	b.Conn().PublishRequest(subj, "_INBOX.shutdowntest.1", []byte("1"))
	b.Conn().Flush()
	cancel()
	select {
	case r := <-replies:
		if r.Header.Get(service.StreamEndHeader) != "1" || r.Header.Get("Nats-Service-Error-Code") != "503" {
			t.Fatalf("pull at shutdown answered %v", r.Header)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to a pull at shutdown")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type holder struct{}

func (holder) Initialize(context.Context) error { return nil }
func (holder) Shutdown(context.Context) error   { return nil }

// Hold yields nothing until its ctx ends.
func (holder) Hold(ctx context.Context) (iter.Seq2[int, error], error) {
	return func(yield func(int, error) bool) { <-ctx.Done() }, nil
}

// TestStreamsOpenBounded: a service holds at most as many open streams as
// it handles calls at once (WithConcurrency); past it, an open is answered
// 503 — so that callers who open streams and never close them (or ask
// for an idle time of years) cannot make it run producers without end.
func TestStreamsOpenBounded(t *testing.T) {
	b := bgkittest.Bus(t)
	const limit = 8
	bgkittest.Serve(t, b, holder{}, service.WithConcurrency(limit))
	open := func() *nats.Msg {
		m := nats.NewMsg("svc.HOLDER.hold")
		m.Header.Set(service.StreamHeader, "open")
		m.Header.Set(service.StreamIdleHeader, "315360000000") // ten years
		r, err := b.Conn().RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range limit {
		if r := open(); r.Header.Get(service.StreamHeader) == "" {
			t.Fatalf("open %d: %v %q", i, r.Header, r.Data)
		}
	}
	r := open()
	if code := r.Header.Get("Nats-Service-Error-Code"); code != "503" || r.Header.Get(service.StreamHeader) != "" {
		t.Fatalf("open %d of a service of concurrency %d: code %q header %v, want 503", limit+1, limit, code, r.Header)
	}
}
