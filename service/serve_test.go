package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type echoService struct {
	initCtx  context.Context
	shutdown chan struct{}
	release  chan struct{}
}

type echoIn struct {
	Text  string `json:"text" validate:"required"`
	Times int    `json:"times" validate:"min=1,max=3"`
}

func (s *echoService) Initialize(ctx context.Context) error { s.initCtx = ctx; return nil }
func (s *echoService) Shutdown(ctx context.Context) error {
	close(s.shutdown)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return nil
}
func (s *echoService) Echo(ctx context.Context, in echoIn) (string, error) {
	return strings.Repeat(in.Text, in.Times), nil
}
func (s *echoService) Teapot(ctx context.Context) error {
	return service.Errorf(418, "I'm a teapot")
}
func (s *echoService) Deadline(ctx context.Context) (bool, error) {
	_, ok := ctx.Deadline()
	return ok, nil
}
func (s *echoService) Where(ctx context.Context) (string, error) {
	b, ok := service.BusFrom(ctx)
	if !ok || b == nil {
		return "", errors.New("no bus in ctx")
	}
	return service.NameFrom(ctx), nil
}

func serve(t *testing.T, svc service.Service, opts ...service.Option) (*bus.Bus, func()) {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	opts = append(opts, service.WithOnReady(func(service.Info) { close(ready) }), service.WithLogger(slog.New(slog.DiscardHandler)))
	go func() { done <- service.Run(ctx, b, svc, opts...) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
			b.Close()
		})
	}
	t.Cleanup(stop)
	return b, stop
}

func TestServeInProcess(t *testing.T) {
	svc := &echoService{shutdown: make(chan struct{}), release: make(chan struct{})}
	close(svc.release)
	b, _ := serve(t, svc, service.WithName("ECHO"))
	ctx := context.Background()
	c, err := controller.Connect(ctx, b, "ECHO")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := c.Call(ctx, "echo", echoIn{Text: "ab", Times: 2}, &out); err != nil || out != "abab" {
		t.Fatalf("echo = %q, %v", out, err)
	}
	// Validation of a method's struct input: 400 naming the field.
	err = c.Call(ctx, "echo", echoIn{Text: "", Times: 9}, &out)
	var se *controller.ServiceError
	if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Message, "text") || !strings.Contains(se.Message, "times") {
		t.Fatalf("invalid input: %v", err)
	}
	// Unknown fields are refused.
	if _, err := c.CallRaw(ctx, "echo", []byte(`{"text":"a","times":1,"extra":1}`)); !errors.Is(err, controller.ErrBadRequest) {
		t.Fatalf("unknown field: %v", err)
	}
	// Input to a method that takes none.
	if _, err := c.CallRaw(ctx, "teapot", []byte(`5`)); !errors.Is(err, controller.ErrBadRequest) {
		t.Fatalf("input to teapot: %v", err)
	}
	// A method's own code.
	if err := c.Call(ctx, "teapot", nil, nil); !errors.As(err, &se) || se.Code != 418 {
		t.Fatalf("teapot: %v", err)
	}
	// The caller's deadline reaches the method; the bus and name are in ctx.
	var hasDeadline bool
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.Call(dctx, "deadline", nil, &hasDeadline); err != nil || !hasDeadline {
		t.Fatalf("deadline: %v %v", hasDeadline, err)
	}
	if err := c.Call(ctx, "deadline", nil, &hasDeadline); err != nil || hasDeadline {
		t.Fatalf("no deadline: %v %v", hasDeadline, err)
	}
	var name string
	if err := c.Call(ctx, "where", nil, &name); err != nil || name != "ECHO" {
		t.Fatalf("where: %q %v", name, err)
	}
}

func TestMicroDiscovery(t *testing.T) {
	svc := &echoService{shutdown: make(chan struct{}), release: make(chan struct{})}
	close(svc.release)
	b, _ := serve(t, svc, service.WithName("ECHO"))
	nc := b.Conn()
	c, _ := controller.Connect(context.Background(), b, "ECHO")
	c.Call(context.Background(), "teapot", nil, nil)

	m, err := nc.Request("$SRV.INFO.ECHO", nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(m.Data, &info); err != nil {
		t.Fatal(err)
	}
	if info.Type != micro.InfoResponseType || info.Name != "ECHO" || len(info.Endpoints) != 4 || info.Endpoints[0].Subject != "svc.ECHO.deadline" {
		t.Fatalf("info = %+v", info)
	}
	if info.Metadata["pid"] == "" {
		t.Error("no pid in metadata")
	}
	m, err = nc.Request("$SRV.STATS.ECHO."+info.ID, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st micro.Stats
	if err := json.Unmarshal(m.Data, &st); err != nil {
		t.Fatal(err)
	}
	var teapot *micro.EndpointStats
	for _, e := range st.Endpoints {
		if e.Name == "teapot" {
			teapot = e
		}
	}
	if teapot == nil || teapot.NumRequests != 1 || teapot.NumErrors != 1 || !strings.Contains(teapot.LastError, "418") {
		t.Fatalf("teapot stats = %+v", teapot)
	}
	if _, err := nc.Request("$SRV.PING", nil, 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestUnavailableDuringShutdown(t *testing.T) {
	svc := &echoService{shutdown: make(chan struct{}), release: make(chan struct{})}
	b, stop := serve(t, svc, service.WithName("ECHO"))
	c, _ := controller.Connect(context.Background(), b, "ECHO")
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	<-svc.shutdown
	if err := c.Call(context.Background(), "echo", echoIn{Text: "a", Times: 1}, nil); !errors.Is(err, controller.ErrShuttingDown) {
		t.Fatalf("call during shutdown = %v, want 503", err)
	}
	close(svc.release)
	<-stopped
	// The initialize ctx ends after Shutdown.
	if svc.initCtx.Err() == nil {
		t.Error("Initialize's ctx still live after Run returned")
	}
}

// TestFloodKeepsServing floods a service with bad requests faster than it
// answers them; afterwards it still answers good ones.
func TestFloodKeepsServing(t *testing.T) {
	svc := &echoService{shutdown: make(chan struct{}), release: make(chan struct{})}
	close(svc.release)
	b, _ := serve(t, svc, service.WithName("ECHO"), service.WithConcurrency(2))
	nc := b.Conn()
	junk := []byte(strings.Repeat("x", 4096))
	for range 2000 {
		if err := nc.Publish("svc.ECHO.echo", junk); err != nil && !errors.Is(err, nats.ErrSlowConsumer) {
			t.Fatal(err)
		}
	}
	c, _ := controller.Connect(context.Background(), b, "ECHO")
	var out string
	if err := c.Call(context.Background(), "echo", echoIn{Text: "ok", Times: 1}, &out); err != nil || out != "ok" {
		t.Fatalf("after flood: %q %v", out, err)
	}
}

func TestRunErrors(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := service.Run(ctx, b, &failInit{}); err == nil || !strings.Contains(err.Error(), "initialize FAIL_INIT: nope") {
		t.Fatalf("Run = %v", err)
	}
	if err := service.Run(ctx, b, &failInit{}, service.WithName("bad.name")); !errors.Is(err, bus.ErrBadName) {
		t.Fatalf("Run with a bad name = %v", err)
	}
}

type failInit struct{}

func (*failInit) Initialize(context.Context) error { return errors.New("nope") }
func (*failInit) Shutdown(context.Context) error   { return nil }
