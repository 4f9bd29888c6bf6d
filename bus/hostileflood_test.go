package bus_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/floodtest"
)

// TestDivertedFloodLeavesTheOwnersConnection: every child may publish on
// $BGKIT.DIVERTED.svc.> (Grant adds it: the server checks a call to a
// stopping service against the subject StopCalls maps it to), where the
// bus's owner answers the diverted calls 503. That subscription was on the
// owner's one connection, which never reconnected: a hostile child that
// flooded the subject with the largest messages the bus takes, from a few
// connections of its user, had the server close it as a slow consumer's
// within a second (every controller, exit watcher, life event and grant
// of the parent gone). It is on the log connection now: the owner's stays
// connected, and the refuser still answers once the flood is over.
func TestDivertedFloodLeavesTheOwnersConnection(t *testing.T) {
	var serverSaid serverLog
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.NewTextHandler(&serverSaid, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() }) // after the flood's connections
	creds, err := b.Grant("HOSTILE")
	if err != nil {
		t.Fatal(err)
	}
	subject := "$BGKIT.DIVERTED.svc.NOBODY.x" // nothing learnt: a constant
	flood := floodtest.Start(t, creds, subject, bus.WithLogger(slog.New(slog.DiscardHandler)))
	deadline := time.Now().Add(1500 * time.Millisecond) // the old one fell in 0.2–0.7 s
	for time.Now().Before(deadline) && b.Conn().Stats().Reconnects == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	sent := flood.Stop()
	if st := b.Conn().Status(); st != nats.CONNECTED || b.Conn().Stats().Reconnects > 0 {
		t.Fatalf("the bus owner's connection was dropped by a child's flood of %s (%d messages of ~1 MiB): status %v, %d reconnects, last error %v; the server said:\n%s",
			subject, sent, st, b.Conn().Stats().Reconnects, b.Conn().LastError(), serverSaid.slow())
	}
	// The refuser answers a stopping service's calls again.
	if !b.StopCalls("HOSTILE") {
		t.Fatal("StopCalls(HOSTILE) = false")
	}
	m, err := bus.Request(context.Background(), b.Conn(), &nats.Msg{Subject: bus.ServiceSubject("HOSTILE", "x")}, 5*time.Second)
	if code, _, failed := bus.ReplyError(m); err != nil || !failed || code != 503 {
		t.Fatalf("a diverted call after the flood: %v, code %d", err, code)
	}
	if _, err := b.Grant("AFTER"); err != nil {
		t.Fatalf("after the flood the owner cannot grant: %v", err)
	}
}

// serverLog keeps what the bus logged.
type serverLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// slow is the lines about slow consumers and stalls.
func (l *serverLog) slow() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, "Slow Consumer") || strings.Contains(line, "stalled") || strings.Contains(line, "bgkit\"") {
			out = append(out, line)
		}
	}
	if len(out) > 8 {
		out = out[:8]
	}
	return strings.Join(out, "\n")
}
