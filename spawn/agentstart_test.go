package spawn

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

type delayInitArgs struct {
	Delay     time.Duration `json:"delay"`
	StopDelay time.Duration `json:"stop_delay"`
}

// DelayInitService's Initialize takes its delay, or less if its ctx ends
// first (then it cleans up, and says so): a service whose start is slow
// but succeeds. Its Shutdown takes its stop delay, or less if its ctx
// ends first.
type DelayInitService struct{ delay, stopDelay time.Duration }

func newDelayInit(a delayInitArgs) (*DelayInitService, error) {
	return &DelayInitService{a.Delay, a.StopDelay}, nil
}
func (s *DelayInitService) Initialize(ctx context.Context) error {
	slog.Info("initializing")
	select {
	case <-time.After(s.delay):
		return nil
	case <-ctx.Done():
		slog.Info("initialize interrupted: cleaned up")
		return ctx.Err()
	}
}
func (s *DelayInitService) Shutdown(ctx context.Context) error {
	select {
	case <-time.After(s.stopDelay):
	case <-ctx.Done():
	}
	return nil
}
func (*DelayInitService) Nop(context.Context) error { return nil }

var _ = func() bool { Register(newDelayInit); return true }()

// childrenNamed are this process's bgkit children (an agent served in
// the test process spawns them) that run service name.
func childrenNamed(t *testing.T, name string) []string {
	t.Helper()
	var got []string
	for _, l := range bgkitChildren(t) {
		if strings.HasSuffix(l, " bgkit-child "+name) {
			got = append(got, l)
		}
	}
	return got
}

// awaitNoChild fails t unless no child runs service name within d.
func awaitNoChild(t *testing.T, name string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := childrenNamed(t, name)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's child of %s still runs %v after: %q", name, d, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAgentStartGivenUp: a requester that gives up a start through an
// agent — its ctx ends, or its start timeout passes, while the agent's
// child is still in Initialize — must not leave that child running: the
// agent stops it as Terminate does (its Initialize's ctx ends; killed
// after its grace if it ignores it), Run returns once it is gone, nothing
// serves the name, and the name can be spawned again on that agent at
// once. The agent was not told: its start ran on, with its own 30 s
// timeout, and the child served a name its requester had given up.
func TestAgentStartGivenUp(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "GIVEUP")
	tests := []struct {
		name    string
		svc     string
		run     func(ctx context.Context, opts ...Option) (*Handle, error)
		cancel  bool          // cancel Run's ctx once the child initializes
		timeout time.Duration // Run's start timeout, if not 0
		grace   time.Duration
		killed  bool // Initialize ignores its ctx: killed after the grace
	}{
		{
			name: "ctx cancelled", svc: "GIVEN_UP_CTX",
			run: func(ctx context.Context, opts ...Option) (*Handle, error) {
				return Run(ctx, b, newSlowInit, struct{}{}, opts...)
			},
			cancel: true, grace: 10 * time.Second,
		},
		{
			name: "ctx cancelled, Initialize ignores it", svc: "GIVEN_UP_STUCK",
			run: func(ctx context.Context, opts ...Option) (*Handle, error) {
				return Run(ctx, b, newStuckInit, struct{}{}, opts...)
			},
			cancel: true, grace: 300 * time.Millisecond, killed: true,
		},
		{
			name: "start timeout shorter than Initialize", svc: "GIVEN_UP_TIMEOUT",
			run: func(ctx context.Context, opts ...Option) (*Handle, error) {
				return Run(ctx, b, newDelayInit, delayInitArgs{Delay: 5 * time.Second}, opts...)
			},
			timeout: time.Second, grace: 10 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.svc
			rec := &seen{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			gaveUp := make(chan time.Time, 1)
			if tt.cancel {
				go func() {
					select {
					case <-rec.of("initializing"):
						gaveUp <- time.Now()
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			opts := []Option{OnAgent("GIVEUP"), WithName(name), WithLogger(slog.New(rec)), WithGrace(tt.grace)}
			if tt.timeout > 0 {
				opts = append(opts, WithStartTimeout(tt.timeout))
			}
			began := time.Now()
			h, err := tt.run(ctx, opts...)
			returned := time.Now()
			if err == nil {
				_ = h.Terminate(context.Background())
				t.Fatal("Run returned a handle for a start it gave up")
			}
			t.Logf("Run after %v: %v", returned.Sub(began).Round(time.Millisecond), err)
			if !errors.Is(err, ErrStart) {
				t.Errorf("Run: %v, want ErrStart", err)
			}
			if tt.cancel && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v, want context.Canceled", err)
			}
			from := began.Add(tt.timeout)
			if tt.cancel {
				select {
				case from = <-gaveUp:
				default:
					t.Fatal("Run returned before its ctx was cancelled")
				}
			}
			// Run waits for the child's stop, within its grace.
			if d := returned.Sub(from); d > tt.grace+3*time.Second {
				t.Errorf("Run returned %v after it gave up, want within the grace %v", d, tt.grace)
			}
			awaitNoChild(t, name, time.Second)
			if served(context.Background(), b.Conn(), name) {
				t.Errorf("%s still answers after its start was given up", name)
			}
			if tt.killed != strings.Contains(err.Error(), "killed by SIGKILL") {
				t.Errorf("Run: %v: killed %v, want %v", err, !tt.killed, tt.killed)
			}
			if !tt.killed {
				select {
				case <-rec.of("initialize interrupted: cleaned up"):
				case <-time.After(5 * time.Second):
					t.Errorf("the agent's child did not see its Initialize's ctx end (or its record was lost)")
				}
			}
			h2, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 85}`), OnAgent("GIVEUP"),
				WithName(name), WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatalf("spawn %s again on the agent at once: %v", name, err)
			}
			if err := h2.Terminate(context.Background()); err != nil {
				t.Errorf("Terminate the second %s: %v", name, err)
			}
		})
	}
}

// TestAgentStartOfVanishedRequester: a requester that says it renews
// its lease during the start (its spawn carries start_timeout) and then
// goes quiet (killed in the middle of Run) has its start given up when
// the lease expires, not when its start timeout passes.
func TestAgentStartOfVanishedRequester(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "VANISH")
	const name = "VANISHED"
	key, _ := json.Marshal(typeKey(reflect.TypeFor[*SlowInitService]()))
	req := []byte(`{"key":` + string(key) + `,"name":"` + name + `","args":{},"grace":1000000000,` +
		`"lease":"vanishinglease","start_timeout":60000000000}`)
	began := time.Now()
	m, err := b.Conn().Request(agentCall("VANISH", "spawn"), req, leaseTTL+10*time.Second)
	if err != nil {
		t.Fatalf("no answer to the spawn of a requester that went quiet: %v", err)
	}
	code, msg, failed := bus.ReplyError(m)
	if !failed {
		t.Fatalf("spawn answered %s, want its start given up", m.Data)
	}
	t.Logf("answered after %v: %d %s", time.Since(began).Round(time.Millisecond), code, msg)
	if !strings.Contains(msg, "lease expired") || strings.Contains(msg, "context canceled") {
		t.Errorf("spawn answered %d %q, want it to say the requester's lease expired", code, msg)
	}
	awaitNoChild(t, name, time.Second)
}

// TestAgentAbortTakesTheLease: abort stops a start only for the
// requester that asked for it: any client on the bus may call the agent,
// and one without the lease must not stop another's start. Bad input is
// refused 400, and the agent keeps serving.
func TestAgentAbortTakesTheLease(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "ABORT")
	abort := agentCall("ABORT", "abort")
	for _, body := range []string{
		`not json`, `{}`, `{"name":"X"}`, `{"lease":"somelease"}`, `{"name":"X","lease":"a.>"}`,
		`{"name":"a b","lease":"somelease"}`, `{"name":"X","lease":""}`, `[1,2]`,
	} {
		m, err := b.Conn().Request(abort, []byte(body), 5*time.Second)
		if err != nil {
			t.Fatalf("abort %s: %v", body, err)
		}
		if code, _, _ := bus.ReplyError(m); code != 400 {
			t.Errorf("abort %s: answered %q (code %d), want 400", body, m.Data, code)
		}
	}

	rec := &seen{}
	started := make(chan error, 1)
	var h *Handle
	go func() {
		var err error
		h, err = Run(context.Background(), b, newDelayInit, delayInitArgs{Delay: 1500 * time.Millisecond},
			OnAgent("ABORT"), WithName("ABORTED"), WithLogger(slog.New(rec)))
		started <- err
	}()
	<-rec.of("initializing")
	hb := hostileChild(t, b)
	for _, c := range []struct {
		who string
		nc  *nats.Conn
	}{{"another client", b.Conn()}, {"a child", hb.Conn()}} {
		for _, body := range []string{`{"name":"ABORTED","lease":"guess"}`, `{"name":"ABORTED"}`} {
			m, err := c.nc.Request(abort, []byte(body), 500*time.Millisecond)
			if err != nil && c.nc == hb.Conn() {
				continue // a child may not publish on bgkit.agent.>: no answer at all
			}
			if err != nil {
				t.Fatalf("abort %s from %s: %v", body, c.who, err)
			}
			if code, _, failed := bus.ReplyError(m); !failed || code < 400 {
				t.Errorf("abort %s from %s: answered %q (code %d), want a refusal", body, c.who, m.Data, code)
			}
		}
	}
	if err := <-started; err != nil {
		t.Fatalf("the start another client tried to abort: %v", err)
	}
	if m, err := b.Conn().Request("svc.ABORTED.nop", nil, 5*time.Second); err != nil {
		t.Errorf("call the service: %v", err)
	} else if _, msg, failed := bus.ReplyError(m); failed {
		t.Errorf("call the service: %s", msg)
	}
	// The running service too is not another's to abort.
	m, err := b.Conn().Request(abort, []byte(`{"name":"ABORTED","lease":"guess"}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := bus.ReplyError(m); code != 403 {
		t.Errorf("abort of the running service without the lease: answered %q (code %d), want 403", m.Data, code)
	}
	// Nor did any refused abort stop it.
	select {
	case <-h.Done():
		t.Fatalf("the service stopped: %v", h.Err())
	default:
	}
	if err := h.Terminate(context.Background()); err != nil {
		t.Errorf("Terminate: %v", err)
	}
}

// TestAgentSlowStartKeepsItsLease: a start that takes longer than the
// lease's lifetime (3 s) is not taken for the requester gone once it
// serves: the requester renews from its first tick after the answer, and
// the lease must not have expired by then.
func TestAgentSlowStartKeepsItsLease(t *testing.T) {
	b := testBus(t)
	serveAgent(t, b, "SLOW")
	h, err := Run(context.Background(), b, newDelayInit, delayInitArgs{Delay: leaseTTL + 500*time.Millisecond},
		OnAgent("SLOW"), WithName("SLOW_START"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	// Expiry would take the service within a tick of the agent's
	// (leaseRenew) after its start; a few ticks without it do.
	select {
	case <-h.Done():
		t.Fatalf("a slow start's service was stopped as if its requester were gone: %v", h.Err())
	case <-time.After(4 * leaseRenew):
	}
	if err := h.Terminate(context.Background()); err != nil {
		t.Errorf("Terminate: %v", err)
	}
}
