package canrecorder

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait of a test, so that a hang fails instead
// of blocking the run.
const waitTimeout = 10 * time.Second

// testCtx ends when the test ends or after waitTimeout.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// served is a service served in-process.
type served struct {
	c    *Controller
	svc  *CANRecorderService
	stop func() error // ends service.Run (Shutdown) and returns its error
}

// serve serves a recorder made from args on b; it is stopped when the
// test ends, if not before.
func serve(tb testing.TB, b *bus.Bus, args Args) *served {
	tb.Helper()
	svc, err := New(args)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, svc, service.WithLogger(slog.New(slog.DiscardHandler)),
			service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		tb.Fatalf("Run: %v", err)
	}
	var runErr error
	stopped := false
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	c, err := Connect(testCtx(tb), b, "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Close()
		if err := stop(); err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return &served{c: c, svc: svc, stop: stop}
}

// openNode attaches a node to the virtual bus bus0; it is closed when the
// test ends.
func openNode(tb testing.TB, b *bus.Bus) *can.Virtual {
	tb.Helper()
	n, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}

// send sends frames on node.
func send(tb testing.TB, node can.Bus, frames ...can.Frame) {
	tb.Helper()
	ctx := testCtx(tb)
	for _, f := range frames {
		if err := node.Send(ctx, f); err != nil {
			tb.Fatal(err)
		}
	}
}

// readLog reads every entry of a candump log file.
func readLog(tb testing.TB, path string) []can.LogEntry {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out, err := can.ReadLog(f)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// frameList returns the frames of entries.
func frameList(entries []can.LogEntry) []can.Frame {
	out := make([]can.Frame, len(entries))
	for i, e := range entries {
		out[i] = e.Frame
	}
	return out
}

// mustFrames parses frames in cansend syntax.
func mustFrames(tb testing.TB, texts ...string) []can.Frame {
	tb.Helper()
	out := make([]can.Frame, len(texts))
	for i, s := range texts {
		f, err := can.ParseFrame(s)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = f
	}
	return out
}

// tails is how many tail streams are open.
func (s *served) tails() int {
	s.svc.tails.mu.RLock()
	defer s.svc.tails.mu.RUnlock()
	return len(s.svc.tails.tails)
}

// waitTails waits until n tail streams are open (no event tells: poll).
func (s *served) waitTails(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for s.tails() != n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d tails open, want %d", s.tails(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
