package spawn

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/internal/nuidguess"
)

// HangService never becomes ready: its Initialize waits for its ctx.
type HangService struct{}

func newHang(struct{}) (*HangService, error) { return &HangService{}, nil }
func (*HangService) Initialize(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
func (*HangService) Shutdown(context.Context) error { return nil }
func (*HangService) Nop(context.Context) error      { return nil }

// Registered by type (not as a kind: TestRegistry counts the kinds) before
// TestMain calls Main.
var _ = func() bool { Register(newHang); return true }()

// TestReadyInboxUnforgeable: a hostile child learns one NUID of its
// parent (here the prefix of the reply subject of a call the parent makes
// to it; a relay's acknowledgements carry another), and nuid's NUIDs are
// sequential with one of 300 increments. If the ready inbox of the next
// spawn is a NUID, the hostile child can publish a ready status there and
// make Run return for a child that never served (its Initialize hangs).
func TestReadyInboxUnforgeable(t *testing.T) {
	b := testBus(t)
	hb := hostileChild(t, b)
	replies := make(chan string, 1)
	sub, err := hb.Conn().Subscribe(bus.ServiceSubject("HOSTILE", "probe"), func(m *nats.Msg) {
		select {
		case replies <- m.Reply:
		default:
		}
		_ = m.Respond(nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := hb.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Conn().Request(bus.ServiceSubject("HOSTILE", "probe"), nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	reply := <-replies // _INBOX.<parent's NUID>.<token>
	parts := strings.Split(reply, ".")
	if len(parts) != 3 || len(parts[1]) != 22 {
		t.Fatalf("parent's reply subject %q is not _INBOX.<nuid>.<token>", reply)
	}
	guesses := nuidguess.Neighbours(parts[1], 64)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		forged := []byte(`{"ready":true,"id":"FORGED"}`)
		for {
			for _, g := range guesses {
				_ = hb.Conn().Publish("_INBOX."+g, forged)
			}
			_ = hb.Conn().Flush()
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	h, err := Run(context.Background(), b, newHang, struct{}{},
		WithStartTimeout(2*time.Second), WithGrace(time.Second), WithLogger(slog.New(slog.DiscardHandler)))
	close(stop)
	wg.Wait()
	if err == nil {
		_ = h.Terminate(context.Background())
		t.Fatalf("Run returned a handle (pid %d) for a child whose Initialize never returned: a forged ready status was taken", h.PID())
	}
	if !errors.Is(err, ErrStart) {
		t.Fatalf("Run: %v, want ErrStart", err)
	}
}

// hostileChild is a connection with the credentials of a child named
// HOSTILE: what a hostile service could do on the bus.
func hostileChild(t *testing.T, b *bus.Bus) *bus.Bus {
	t.Helper()
	creds, err := b.Grant("HOSTILE")
	if err != nil {
		t.Fatal(err)
	}
	hb, err := bus.Dial(context.Background(), creds, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hb.Close() })
	return hb
}
