package spawn

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
)

// TestRelayKnowsTheChildsLogInbox: the parent's relay knows the inbox of
// its child's log handler before the first record (it is granted with the
// child's credentials; an agent says which in its answer to the spawn),
// so that a relay whose connection drops before any record came can
// still ask for what it missed; the child's records carry that very
// inbox.
func TestRelayKnowsTheChildsLogInbox(t *testing.T) {
	for _, agent := range []string{"", "INBOXED"} {
		t.Run("agent="+agent, func(t *testing.T) {
			b := testBus(t)
			opts := []Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
			if agent != "" {
				serveAgent(t, b, agent)
				opts = append(opts, OnAgent(agent))
			}
			spy, err := b.Conn().SubscribeSync(bus.LogSubject("PING_SERVICE"))
			if err != nil {
				t.Fatal(err)
			}
			h, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 84}`), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Terminate(context.Background()) })
			var known string
			switch i := h.current().(type) {
			case *process:
				known = i.relay.Inbox()
			case *remote:
				known = i.relay.Inbox()
			}
			if known == "" {
				t.Fatal("the relay knows no inbox before the child's first record")
			}
			if _, err := b.Conn().Request("svc.PING_SERVICE.say", []byte(`"hello"`), 5*time.Second); err != nil {
				t.Fatal(err)
			}
			m, err := spy.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if want := known + ".1"; m.Reply != want {
				t.Fatalf("the child's first record came with reply %q, want %q", m.Reply, want)
			}
		})
	}
}
