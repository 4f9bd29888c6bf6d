package integration

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/services/testerpresent"
	"github.com/bgkit/bgkit/spawn"

	"github.com/bgkit/bgkit/bgkittest"
)

// TestTesterPresentProcess runs tester-present as a real child process:
// nothing is sent before start, start puts its requests on the virtual
// bus where this process sees them, stats counts them, stop stops them,
// its logs are relayed, and it terminates cleanly. The kind is registered
// by TestMain (services.RegisterAll).
func TestTesterPresentProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := bgkittest.Bus(t)
	rec := newRecorder()

	node, err := can.Open(ctx, "virtual:tp-e2e", can.WithNATS(b.Conn()))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()

	h, err := spawn.RunKind(ctx, b, testerpresent.Kind,
		json.RawMessage(`{"bus": "virtual:tp-e2e", "interval_ms": 20, "pad_byte": 85}`),
		spawn.WithLogger(slog.New(rec)))
	if errors.Is(err, spawn.ErrNotRegistered) {
		t.Fatalf("%v: the integration TestMain must call services.RegisterAll", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	terminated := false
	defer func() {
		if !terminated {
			h.Terminate(context.Background())
		}
	}()
	if h.ServiceName() != testerpresent.DefaultName {
		t.Errorf("service name %q, want %q", h.ServiceName(), testerpresent.DefaultName)
	}
	tp, err := testerpresent.Connect(ctx, b, "")
	if err != nil {
		t.Fatal(err)
	}

	if running, err := tp.IsRunning(ctx); err != nil || running {
		t.Fatalf("is_running = %v, %v before start (autostart is false)", running, err)
	}
	if st, err := tp.Stats(ctx); err != nil || st.Sent != 0 {
		t.Fatalf("stats %+v, %v before start", st, err)
	}
	if err := tp.SetInterval(ctx, 0); !errors.Is(err, controller.ErrBadRequest) {
		t.Errorf("set_interval 0: err = %v, want a 400", err)
	}

	if err := tp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for range 5 {
		r, err := node.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Frame.String(); got != "7DF#023E805555555555" {
			t.Fatalf("frame %s, want 7DF#023E805555555555", got)
		}
		times = append(times, r.Time)
	}
	// Deadlines are 20 ms apart: however late one frame is, four periods
	// cannot pass in much less than 60 ms.
	if d := times[4].Sub(times[0]); d < 60*time.Millisecond {
		t.Errorf("5 requests within %v at a 20 ms interval", d)
	}

	if err := tp.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := tp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || st.Errors != 0 || st.Sent < 5 || st.IntervalMS != 20 {
		t.Errorf("stats %+v after stop", st)
	}
	// Every request counted reaches this process.
	for seen := uint64(5); seen < st.Sent; seen++ {
		if _, err := node.Recv(ctx); err != nil {
			t.Fatalf("%d frames seen, stats.sent %d: %v", seen, st.Sent, err)
		}
	}

	r := rec.wait(t, 10*time.Second, msgIs("tester present started"))
	if a := attrs(r); a["service"].String() != testerpresent.DefaultName || a["interval_ms"].Int64() != 20 {
		t.Errorf("relayed record has attributes %v", a)
	}

	terminated = true
	if err := h.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Err(); err != nil {
		t.Errorf("exit: %v", err)
	}
}
