package bgkittest_test

import (
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

type announcer struct{}

func (announcer) Initialize(context.Context) error { return nil }
func (announcer) Shutdown(context.Context) error   { return nil }
func (announcer) Say(ctx context.Context, what string) error {
	return service.Emit(ctx, "said", what)
}

func TestEventsWaitFor(t *testing.T) {
	b := bgkittest.Bus(t)
	bgkittest.Serve(t, b, announcer{})
	c, err := controller.Connect(t.Context(), b, "ANNOUNCER")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ev := bgkittest.Events(t, c, "")
	for _, w := range []string{"a", "b", "c"} {
		if err := c.Call(t.Context(), "say", w, nil); err != nil {
			t.Fatal(err)
		}
	}
	e := ev.WaitFor(t, func(e controller.Event) bool { return string(e.Data) == `"b"` }, 5*time.Second)
	if e.Topic != "said" || e.Seq != 2 {
		t.Fatalf("event %+v", e)
	}
	ev.WaitFor(t, bgkittest.Topic("said"), time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := ev.Wait(ctx, bgkittest.Topic("other")); err == nil {
		t.Fatal("Wait matched an event that never came")
	}
}
