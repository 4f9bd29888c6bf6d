package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// Issue 9, finding 6: a reply larger than the server's max payload is a
// 500 naming the size, at once — not a wait until the caller's deadline.
func TestFindingOversizedReply(t *testing.T) {
	b := bgkittest.Bus(t)
	h := bgkittest.Spawn(t, b, NewCounterService, CounterArgs{Step: 1})
	c, err := controller.Connect(t.Context(), b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	n := int(b.Conn().MaxPayload()) + 1
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Call(ctx, "big", n, nil)
	took := time.Since(start)
	var se *controller.ServiceError
	// The reply is the JSON string: n bytes and two quotes.
	if !errors.As(err, &se) || se.Code != 500 || !strings.Contains(se.Message, fmt.Sprint(n+2)) ||
		!strings.Contains(se.Message, fmt.Sprint(n-1)) {
		t.Fatalf("oversized reply = %v, want a 500 naming its size (%d bytes) and the limit (%d)", err, n+2, n-1)
	}
	if took > 5*time.Second {
		t.Errorf("the 500 came after %v, not at once", took)
	}
	// The service keeps serving.
	var s string
	if err := c.Call(ctx, "big", 10, &s); err != nil || len(s) != 10 {
		t.Fatalf("after the oversized reply: %q, %v", s, err)
	}
}

// Issue 9, finding 7: a process that joins the embedded bus of another by
// its URL (bgkit run against the bus of bgkit up) spawns children with
// scoped credentials, not its own administrator ones.
func TestFindingRunOnAnotherEmbeddedBusIsScoped(t *testing.T) {
	owner := bgkittest.Bus(t)
	joiner, err := bus.Connect(t.Context(), owner.Credentials().ShareURL())
	if err != nil {
		t.Fatal(err)
	}
	defer joiner.Close()
	h, err := spawn.RunKind(t.Context(), joiner, "counter", []byte(`{"step":1}`), spawn.WithName("RUN_CHILD"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Terminate(context.Background())
	c, err := controller.Connect(t.Context(), joiner, "RUN_CHILD")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(t.Context(), "publish", "log.SOMEONE_ELSE", nil)
	if err == nil || !strings.Contains(err.Error(), "ermissions") {
		t.Fatalf("a child of the joining process published to another's log: %v", err)
	}
	if err := c.Call(t.Context(), "publish", "log.RUN_CHILD", nil); err != nil {
		t.Fatalf("its own log: %v", err)
	}
}
