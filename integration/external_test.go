package integration

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

var listenRE = regexp.MustCompile(`Listening for client connections on (127\.0\.0\.1:\d+)`)

// startNatsServer runs the standalone nats-server on 127.0.0.1 with a
// random port and returns its URL. It is stopped at cleanup.
func startNatsServer(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, "nats-server"), append([]string{"-a", "127.0.0.1", "-p", "-1"}, args...)...)
	// The server dies with the test binary, even one that is killed.
	cmd.SysProcAttr = lifecycleDieWithTest()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stderr)
	found := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- "nats://" + m[1]
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatal("nats-server exited before listening")
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("nats-server not listening after 10 s")
	}
	return ""
}

// TestExternalNATS runs the Counter flow on a standalone nats-server with
// user/password authentication.
func TestExternalNATS(t *testing.T) {
	url := startNatsServer(t, "--user", "rig", "--pass", "s3cret-pass")
	ctx := context.Background()
	if _, err := bus.Connect(ctx, url, bus.WithUserInfo("rig", "wrong")); err == nil {
		t.Fatal("connected with a wrong password")
	}
	b, err := bus.Connect(ctx, url, bus.WithUserInfo("rig", "s3cret-pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Embedded() {
		t.Fatal("external bus reports embedded")
	}
	rec := newRecorder()
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Start: 1, Step: 2}, spawn.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.Connect(ctx, b, "COUNTER_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	cc := CounterController{c}
	if v, err := cc.Add(ctx, 5); err != nil || v != 11 {
		t.Fatalf("add = %d, %v", v, err)
	}
	if err := c.Call(ctx, "hello", nil, nil); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 5*time.Second, msgIs("hello"))
	if err := h.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, time.Second, msgIs("shutdown started"))
	if err := c.Call(ctx, "value", nil, nil); !errors.Is(err, controller.ErrNoService) {
		t.Fatalf("call after terminate = %v, want ErrNoService", err)
	}
}
