package integration

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// natsCLI runs the real `nats` CLI against b and returns stdout+stderr.
// (natscli exits 0 even for service errors: read the output.)
func natsCLI(t *testing.T, b *bus.Bus, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, "nats"), append([]string{"--server", b.Credentials().ShareURL(), "--timeout", "5s"}, args...)...)
	cmd.Env = append(cmd.Environ(), "NATS_CONTEXT=", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("nats %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestNatsCLI(t *testing.T) {
	b := bgkittest.Bus(t)
	bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})

	out := natsCLI(t, b, "req", "svc.COUNTER_SERVICE.add", "5")
	if !strings.Contains(out, "\n5\n") && !strings.HasSuffix(strings.TrimSpace(out), "5") {
		t.Errorf("nats req add 5:\n%s", out)
	}
	out = natsCLI(t, b, "req", "svc.COUNTER_SERVICE.add", `"five"`)
	if !strings.Contains(out, "Nats-Service-Error-Code: 400") {
		t.Errorf("nats req with a string for an int: want a 400 header\n%s", out)
	}
	out = natsCLI(t, b, "req", "svc.COUNTER_SERVICE.nope", "")
	if !strings.Contains(out, "Nats-Service-Error-Code: 404") || !strings.Contains(out, "add") {
		t.Errorf("nats req unknown method: want 404 listing methods\n%s", out)
	}
	out = natsCLI(t, b, "micro", "ls")
	if !strings.Contains(out, "COUNTER_SERVICE") {
		t.Errorf("nats micro ls does not list the service:\n%s", out)
	}
	out = natsCLI(t, b, "micro", "info", "COUNTER_SERVICE")
	if !strings.Contains(out, "svc.COUNTER_SERVICE.add") {
		t.Errorf("nats micro info lacks the add endpoint:\n%s", out)
	}
	out = natsCLI(t, b, "micro", "stats", "COUNTER_SERVICE", "--json")
	if !strings.Contains(out, `"num_requests"`) {
		t.Errorf("nats micro stats:\n%s", out)
	}
}

func TestErrorCodes(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1, ShutdownWait: 800}, spawn.WithGrace(10*time.Second))
	c, _ := controller.Connect(ctx, b, "COUNTER_SERVICE")

	for _, tc := range []struct {
		name    string
		method  string
		raw     string
		code    int
		sentry  error
		message string
	}{
		{"bad JSON", "add", `{"n":`, 400, controller.ErrBadRequest, "bad argument"},
		{"wrong type", "add", `"five"`, 400, controller.ErrBadRequest, `must be a number, got string "five"`},
		{"missing input", "add", ``, 400, controller.ErrBadRequest, "takes an argument"},
		{"null for a number", "add", `null`, 400, controller.ErrBadRequest, "must be a number, got null"},
		{"unknown method", "nope", ``, 404, controller.ErrUnknownMethod, "known: add, big, boom"},
		{"method error", "fail", `"disk full"`, 500, controller.ErrServiceFailed, "failing: disk full"},
		{"panic", "boom", ``, 500, controller.ErrServiceFailed, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CallRaw(ctx, tc.method, []byte(tc.raw))
			var se *controller.ServiceError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *ServiceError", err)
			}
			if se.Code != tc.code || !errors.Is(err, tc.sentry) || !strings.Contains(se.Message, tc.message) {
				t.Fatalf("got %d %q, want %d containing %q", se.Code, se.Message, tc.code, tc.message)
			}
		})
	}
	// After a panic the service keeps serving.
	var v int
	if err := c.Call(ctx, "add", 2, &v); err != nil || v != 2 {
		t.Fatalf("add after panic = %d, %v", v, err)
	}
	// A name nobody serves fails at once.
	start := time.Now()
	other, err := controller.Connect(ctx, b, "NOBODY")
	if !errors.Is(err, controller.ErrNoService) || other != nil {
		t.Fatalf("connect NOBODY = %v, want ErrNoService", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("ErrNoService took %v", took)
	}
	// 503 while shutting down: Shutdown waits 0.8 s; call meanwhile.
	termDone := make(chan error, 1)
	go func() { termDone <- h.Terminate(ctx) }()
	h.Logs().WaitFor(t, bgkittest.Message("shutdown started"), 5*time.Second)
	err = c.Call(ctx, "value", nil, &v)
	if !errors.Is(err, controller.ErrShuttingDown) {
		t.Fatalf("call during shutdown = %v, want 503", err)
	}
	if err := <-termDone; err != nil {
		t.Fatal(err)
	}
}
