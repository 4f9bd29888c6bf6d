package floodtest_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/floodtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A flood reaches its subject with messages of Payload bytes until Stop,
// which says how many were sent and may be called again.
func TestFloodSendsUntilStopped(t *testing.T) {
	quiet := bus.WithLogger(slog.New(slog.DiscardHandler))
	b, err := bus.Start(context.Background(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	creds, err := b.Grant("FLOODER")
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := bus.Dial(t.Context(), b.Credentials(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcher.Close() })
	subject := bus.ServiceSubject("FLOODER", "x") // one the child may publish on
	sub, err := watcher.Conn().SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.AutoUnsubscribe(1)
	if err := watcher.Conn().Flush(); err != nil {
		t.Fatal(err)
	}

	f := floodtest.Start(t, creds, subject, quiet)
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("nothing of the flood arrived: %v", err)
	}
	if want := int(b.Conn().MaxPayload()) - 512; f.Payload != want || len(m.Data) != want {
		t.Errorf("Payload %d, a message of %d bytes: want %d", f.Payload, len(m.Data), want)
	}
	sent := f.Stop()
	if sent == 0 {
		t.Error("Stop: 0 messages sent, one arrived")
	}
	if again := f.Stop(); again != sent {
		t.Errorf("Stop again: %d, then %d", sent, again)
	}
}
