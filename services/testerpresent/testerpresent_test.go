package testerpresent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds/doip"

	"github.com/bgkit/bgkit/bgkittest"
)

func ptr[T any](v T) *T { return &v }

func TestDefaultName(t *testing.T) {
	if got := service.DeriveName(reflect.TypeFor[TesterPresentService]().Name()); got != DefaultName {
		t.Errorf("DeriveName = %q, want %q", got, DefaultName)
	}
}

func TestArgsDefaults(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		want    Args
		wantErr string // substring; "" means no error
	}{
		{
			name: "zero",
			want: Args{Bus: "virtual:bus0", TxID: 0x7DF, RxID: 0x7E8, Padding: ptr(true), PadByte: ptr[uint8](0xCC),
				IntervalMS: 2000, SuppressResponse: ptr(true), P2MS: 50, LostAfter: 3},
		},
		{
			name: "explicit",
			args: Args{Bus: "socketcan:can1", TxID: 0x18DB33F1, RxID: 0x18DAF110, Extended: true, Padding: ptr(true),
				PadByte: ptr[uint8](0x55), IntervalMS: 100, SuppressResponse: ptr(false), P2MS: 20, Autostart: true},
			want: Args{Bus: "socketcan:can1", TxID: 0x18DB33F1, RxID: 0x18DAF110, Extended: true, Padding: ptr(true),
				PadByte: ptr[uint8](0x55), IntervalMS: 100, SuppressResponse: ptr(false), P2MS: 20, Autostart: true, LostAfter: 3},
		},
		{
			name: "no padding",
			args: Args{Padding: ptr(false)},
			want: Args{Bus: "virtual:bus0", TxID: 0x7DF, RxID: 0x7E8, Padding: ptr(false), PadByte: nil,
				IntervalMS: 2000, SuppressResponse: ptr(true), P2MS: 50, LostAfter: 3},
		},
		{
			name: "doip",
			args: Args{DoIPAddress: "127.0.0.1:13400", TargetAddress: 0x1001},
			want: Args{DoIPAddress: "127.0.0.1:13400", SourceAddress: 0x0E00, TargetAddress: 0x1001,
				IntervalMS: 2000, SuppressResponse: ptr(true), P2MS: 50, LostAfter: 3},
		},
		{name: "negative interval", args: Args{IntervalMS: -1}, wantErr: "interval_ms"},
		{name: "interval too long", args: Args{IntervalMS: MaxIntervalMS + 1}, wantErr: "interval_ms"},
		{name: "negative p2", args: Args{P2MS: -1}, wantErr: "p2_ms"},
		{name: "bad bus", args: Args{Bus: "can0"}, wantErr: "bus"},
		{name: "11-bit tx_id", args: Args{TxID: 0x800}, wantErr: "tx_id 0x800 exceeds 11 bits"},
		{name: "11-bit rx_id", args: Args{RxID: 0x800}, wantErr: "rx_id 0x800 exceeds 11 bits"},
		{name: "29-bit tx_id", args: Args{TxID: 0x20000000, Extended: true}, wantErr: "tx_id"},
		{name: "same ids", args: Args{TxID: 0x7E8}, wantErr: "tx_id and rx_id"},
		{name: "pad byte without padding", args: Args{Padding: ptr(false), PadByte: ptr[uint8](0)}, wantErr: "pad_byte"},
		{name: "doip without target", args: Args{DoIPAddress: "127.0.0.1:13400"}, wantErr: "target_address"},
		{name: "doip without port", args: Args{DoIPAddress: "127.0.0.1", TargetAddress: 1}, wantErr: "host:port"},
		{name: "doip bad port", args: Args{DoIPAddress: "127.0.0.1:x", TargetAddress: 1}, wantErr: "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newService(tt.args, slog.New(slog.DiscardHandler), systemClock)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: err = %v, want ErrInvalidArgs with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if !reflect.DeepEqual(s.args, tt.want) {
				got, _ := json.Marshal(s.args)
				want, _ := json.Marshal(tt.want)
				t.Errorf("args = %s\nwant   %s", got, want)
			}
		})
	}
}

// TestArgsJSON checks that JSON false turns off the options that default
// to true, and that absent ones take the defaults.
func TestArgsJSON(t *testing.T) {
	tests := []struct {
		name                string
		json                string
		wantSuppress, wantP bool
		wantRequest         []byte
	}{
		{name: "empty", json: `{}`, wantSuppress: true, wantP: true, wantRequest: []byte{0x3E, 0x80}},
		{name: "false", json: `{"suppress_response": false, "padding": false}`, wantRequest: []byte{0x3E, 0x00}},
		{name: "true", json: `{"suppress_response": true, "padding": true}`, wantSuppress: true, wantP: true,
			wantRequest: []byte{0x3E, 0x80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Args
			if err := json.Unmarshal([]byte(tt.json), &a); err != nil {
				t.Fatal(err)
			}
			s, err := New(a)
			if err != nil {
				t.Fatal(err)
			}
			if *s.args.SuppressResponse != tt.wantSuppress || *s.args.Padding != tt.wantP {
				t.Errorf("suppress_response %v padding %v, want %v %v",
					*s.args.SuppressResponse, *s.args.Padding, tt.wantSuppress, tt.wantP)
			}
			if string(s.request) != string(tt.wantRequest) {
				t.Errorf("request % X, want % X", s.request, tt.wantRequest)
			}
		})
	}
}

func TestWarnS3(t *testing.T) {
	tests := []struct {
		name     string
		ms       int
		wantWarn bool
	}{
		{name: "below", ms: S3ServerMS - 1},
		{name: "at", ms: S3ServerMS, wantWarn: true},
		{name: "above", ms: 10000, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newLogSink()
			s, err := newService(Args{IntervalMS: tt.ms}, slog.New(logs), systemClock)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetInterval(t.Context(), tt.ms); err != nil {
				t.Fatal(err)
			}
			warns := 0
			for _, r := range logs.all() {
				if r.Level == slog.LevelWarn && strings.Contains(r.Message, "S3") {
					warns++
				}
			}
			if want := map[bool]int{false: 0, true: 2}[tt.wantWarn]; warns != want {
				t.Errorf("%d S3 warnings (New and set_interval), want %d", warns, want)
			}
		})
	}
}

// TestFrames checks the frames on the bus for each addressing and padding
// option, and that stats counts exactly the frames seen.
func TestFrames(t *testing.T) {
	tests := []struct {
		name string
		args Args
		want string // the frame in cansend syntax
	}{
		{name: "default", want: "7DF#023E80CCCCCCCCCC"},
		{name: "pad byte", args: Args{PadByte: ptr[uint8](0x55)}, want: "7DF#023E805555555555"},
		{name: "zero pad byte", args: Args{PadByte: ptr[uint8](0)}, want: "7DF#023E800000000000"},
		{name: "no padding", args: Args{Padding: ptr(false)}, want: "7DF#023E80"},
		{name: "physical", args: Args{TxID: 0x7E0}, want: "7E0#023E80CCCCCCCCCC"},
		{name: "extended", args: Args{TxID: 0x18DB33F1, RxID: 0x18DAF110, Extended: true}, want: "18DB33F1#023E80CCCCCCCCCC"},
		{name: "extended small id", args: Args{Extended: true}, want: "000007DF#023E80CCCCCCCCCC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			obs := openNode(t, b, "virtual:bus0")
			tt.args.IntervalMS = 5
			h := serve(t, b, tt.args)
			ctx := testCtx(t)
			if err := h.tp.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if got := recvFrame(t, obs).Frame.String(); got != tt.want {
					t.Fatalf("frame %s, want %s", got, tt.want)
				}
			}
			if err := h.tp.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			st := h.stats(t)
			if seen := 3 + countUntilMarker(t, b, obs, "virtual:bus0"); uint64(seen) != st.Sent {
				t.Errorf("%d frames seen, stats.sent %d", seen, st.Sent)
			}
			if st.Errors != 0 || st.LastError != "" {
				t.Errorf("errors %d (%q), want none", st.Errors, st.LastError)
			}
		})
	}
}

func TestOtherBus(t *testing.T) {
	b := bgkittest.Bus(t)
	other := openNode(t, b, "virtual:other")
	h := serve(t, b, Args{Bus: "virtual:other", IntervalMS: 5, Autostart: true})
	if got := recvFrame(t, other).Frame.String(); got != "7DF#023E80CCCCCCCCCC" {
		t.Errorf("frame %s", got)
	}
	if running, err := h.tp.IsRunning(testCtx(t)); err != nil || !running {
		t.Errorf("is_running = %v, %v after autostart", running, err)
	}
}

func TestStartStop(t *testing.T) {
	b := bgkittest.Bus(t)
	obs := openNode(t, b, "virtual:bus0")
	h := serve(t, b, Args{IntervalMS: 5})
	ctx := testCtx(t)

	running := func() bool {
		t.Helper()
		r, err := h.tp.IsRunning(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if running() {
		t.Fatal("running before start (autostart is false)")
	}
	if n := countUntilMarker(t, b, obs, "virtual:bus0"); n != 0 {
		t.Fatalf("%d frames before start", n)
	}
	total := 0
	for round := range 2 {
		for range 2 { // start is idempotent
			if err := h.tp.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if !running() {
			t.Fatalf("round %d: not running after start", round)
		}
		recvFrame(t, obs)
		recvFrame(t, obs)
		for range 2 { // so is stop
			if err := h.tp.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if running() {
			t.Fatalf("round %d: running after stop", round)
		}
		total += 2 + countUntilMarker(t, b, obs, "virtual:bus0")
		st := h.stats(t)
		if st.Sent != uint64(total) || st.Running {
			t.Errorf("round %d: stats %+v, want sent %d, not running", round, st, total)
		}
	}
	h.logs.wait(t, slog.LevelInfo, "tester present started")
	h.logs.wait(t, slog.LevelInfo, "tester present stopped")
}

func TestSetInterval(t *testing.T) {
	b := bgkittest.Bus(t)
	obs := openNode(t, b, "virtual:bus0")
	h := serve(t, b, Args{IntervalMS: MaxIntervalMS})
	ctx := testCtx(t)

	for _, ms := range []int{0, -1, MaxIntervalMS + 1} {
		err := h.tp.SetInterval(ctx, ms)
		if se, ok := errors.AsType[*controller.ServiceError](err); !ok || se.Code != service.CodeBadRequest {
			t.Errorf("set_interval %d: err = %v, want a 400", ms, err)
		}
	}
	if err := h.tp.Call(ctx, "set_interval", "10", nil); !errors.Is(err, controller.ErrBadRequest) {
		t.Errorf("set_interval \"10\": err = %v, want a 400", err)
	}

	// The first request goes out at start; the next is due in an hour,
	// until the interval changes.
	if err := h.tp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := recvFrame(t, obs)
	if err := h.tp.SetInterval(ctx, 20); err != nil {
		t.Fatal(err)
	}
	second := recvFrame(t, obs)
	third := recvFrame(t, obs)
	// Deadlines are 20 ms apart; receive times add the jitter of the
	// transit. Without the change the second request would take an hour.
	if d := second.Time.Sub(first.Time); d < 10*time.Millisecond || d > 5*time.Second {
		t.Errorf("second request %v after the first, want about 20ms (or later, if set_interval came late)", d)
	}
	if d := third.Time.Sub(second.Time); d < 10*time.Millisecond || d > 5*time.Second {
		t.Errorf("third request %v after the second, want about 20ms", d)
	}
	if st := h.stats(t); st.IntervalMS != 20 {
		t.Errorf("stats.interval_ms = %d, want 20", st.IntervalMS)
	}

	// A stopped service keeps the interval for the next start.
	if err := h.tp.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.tp.SetInterval(ctx, 6000); err != nil {
		t.Fatal(err)
	}
	h.logs.waitFunc(t, "S3 warning for 6000 ms", func(r slog.Record) bool {
		v, _ := attr(r, "interval_ms")
		return r.Level == slog.LevelWarn && strings.Contains(r.Message, "S3") && v.Int64() == 6000
	})
	if st := h.stats(t); st.IntervalMS != 6000 || st.Running {
		t.Errorf("stats %+v, want interval 6000, stopped", st)
	}
}

// testerPresentReply answers 3E 00 with 7E 00.
func testerPresentReply(req []byte) []byte {
	if len(req) == 2 && req[0] == 0x3E && req[1] == 0x00 {
		return []byte{0x7E, 0x00}
	}
	return nil
}

func TestReplyChecked(t *testing.T) {
	b := bgkittest.Bus(t)
	respond(t, b, "virtual:bus0", 0x7DF, 0x7E8, testerPresentReply)
	obs := openNode(t, b, "virtual:bus0")
	h := serve(t, b, Args{IntervalMS: 10, SuppressResponse: ptr(false), P2MS: 1000, Autostart: true})
	if got := recvFrame(t, obs).Frame.String(); got != "7DF#023E00CCCCCCCCCC" {
		t.Errorf("request %s, want 7DF#023E00CCCCCCCCCC", got)
	}
	h.waitStats(t, "5 requests", func(st Stats) bool { return st.Sent >= 5 })
	if err := h.tp.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := h.stats(t); st.Errors != 0 || st.LastError != "" {
		t.Errorf("stats %+v, want no errors", st)
	}
}

func TestReplyMissing(t *testing.T) {
	// P2 is short where nothing answers (errors come fast) and long where
	// an answer must arrive in time on a loaded machine.
	tests := []struct {
		name    string
		answer  func([]byte) []byte // nil: no responder
		p2      int
		wantErr string
	}{
		{name: "no responder", p2: 2, wantErr: "no response within P2"},
		{name: "negative", p2: 1000, answer: func([]byte) []byte { return []byte{0x7F, 0x3E, 0x22} }, wantErr: "0x22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			if tt.answer != nil {
				respond(t, b, "virtual:bus0", 0x7DF, 0x7E8, tt.answer)
			}
			h := serve(t, b, Args{IntervalMS: 10, SuppressResponse: ptr(false), P2MS: tt.p2, Autostart: true})
			st := h.waitStats(t, "3 errors", func(st Stats) bool { return st.Errors >= 3 })
			if st.Sent < st.Errors || !st.Running {
				t.Errorf("stats %+v: want every failed request sent, still running", st)
			}
			if !strings.Contains(st.LastError, tt.wantErr) {
				t.Errorf("last_error %q, want %q in it", st.LastError, tt.wantErr)
			}
			r := h.logs.wait(t, slog.LevelWarn, "tester present failed; retrying next period")
			if v, ok := attr(r, "err"); !ok || !strings.Contains(v.String(), tt.wantErr) {
				t.Errorf("warning err = %v", v)
			}
		})
	}
}

// TestRecovery checks that an ECU that answers again ends the streak of
// errors, and that the service logs it.
func TestRecovery(t *testing.T) {
	b := bgkittest.Bus(t)
	var answering atomic.Bool
	respond(t, b, "virtual:bus0", 0x7DF, 0x7E8, func(req []byte) []byte {
		if !answering.Load() {
			return nil
		}
		return testerPresentReply(req)
	})
	// A P2 long enough for answers on a loaded machine, short enough for
	// the unanswered periods to fail soon.
	h := serve(t, b, Args{IntervalMS: 10, SuppressResponse: ptr(false), P2MS: 500, Autostart: true})
	h.waitStats(t, "an error", func(st Stats) bool { return st.Errors >= 1 })
	answering.Store(true)
	r := h.logs.wait(t, slog.LevelInfo, "tester present recovered")
	if v, _ := attr(r, "failed_periods"); v.Int64() < 1 {
		t.Errorf("failed_periods = %v", v)
	}
}

// TestSendErrors closes the transport under a running service: every
// period fails, is counted and logged, and the service keeps trying.
func TestSendErrors(t *testing.T) {
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{IntervalMS: 2, Autostart: true})
	h.waitStats(t, "a request", func(st Stats) bool { return st.Sent >= 1 })
	h.svc.mu.Lock()
	err := h.svc.link.close()
	h.svc.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	st := h.waitStats(t, "5 errors", func(st Stats) bool { return st.Errors >= 5 })
	if !st.Running || !strings.Contains(st.LastError, "closed") {
		t.Errorf("stats %+v, want running with a closed error", st)
	}
	h.logs.wait(t, slog.LevelWarn, "tester present failed; retrying next period")
	warns := 0
	for _, r := range h.logs.all() {
		if r.Level == slog.LevelWarn {
			warns++
		}
	}
	if warns != 1 {
		t.Errorf("%d warnings for one repeated error in under %v, want 1", warns, errorLogEvery)
	}
}

func TestResultLogging(t *testing.T) {
	logs := newLogSink()
	s, err := newService(Args{}, slog.New(logs), systemClock)
	if err != nil {
		t.Fatal(err)
	}
	errA, errB := errors.New("a"), errors.New("b")
	steps := []struct {
		err      error
		wantMsgs []string // records added by this step
	}{
		{nil, nil},
		{errA, []string{"WARN tester present failed; retrying next period"}},
		{errA, nil},
		{errB, []string{"WARN tester present failed; retrying next period"}},
		{nil, []string{"INFO tester present recovered"}},
		{nil, nil},
		{errB, []string{"WARN tester present failed; retrying next period"}},
	}
	seen := 0
	for i, st := range steps {
		s.result(st.err)
		recs := logs.all()[seen:]
		seen += len(recs)
		var got []string
		for _, r := range recs {
			got = append(got, r.Level.String()+" "+r.Message)
		}
		if !reflect.DeepEqual(got, st.wantMsgs) {
			t.Errorf("step %d (%v): logged %q, want %q", i, st.err, got, st.wantMsgs)
		}
	}
	if n := s.errs.Load(); n != 4 {
		t.Errorf("errors = %d, want 4", n)
	}
	if s.lastErr != "b" {
		t.Errorf("last error %q", s.lastErr)
	}
	// The same error is logged again after errorLogEvery.
	s.loggedAt = time.Now().Add(-errorLogEvery)
	s.result(errB)
	if n := len(logs.all()) - seen; n != 1 {
		t.Errorf("%d records for an error repeated after %v, want 1", n, errorLogEvery)
	}
}

func TestStartBeforeInitialize(t *testing.T) {
	s, err := New(Args{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Start = %v, want ErrNotInitialized", err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// startDoIP runs a DoIP entity on 127.0.0.1 whose handler counts the
// requests it gets, until the test ends.
func startDoIP(t *testing.T, reply bool) (*doip.Server, *atomic.Int64) {
	t.Helper()
	var count atomic.Int64
	srv, err := doip.Listen(doip.ServerConfig{
		Addr:           "127.0.0.1:0",
		LogicalAddress: 0x1001,
		Handler: func(_ context.Context, sa, ta uint16, data []byte) ([]byte, bool) {
			switch {
			case sa != 0x0E00 || ta != 0x1001:
				t.Errorf("request from %#x to %#x", sa, ta)
			case len(data) == 2 && data[0] == 0x3E && data[1] == 0x80:
				count.Add(1)
			case len(data) == 2 && data[0] == 0x3E && data[1] == 0x00:
				count.Add(1)
				return []byte{0x7E, 0x00}, reply
			default:
				t.Errorf("request % X", data)
			}
			return nil, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("doip server: %v", err)
		}
	})
	return srv, &count
}

func TestDoIP(t *testing.T) {
	tests := []struct {
		name     string
		suppress *bool
	}{
		{name: "suppressed"},
		{name: "reply checked", suppress: ptr(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, count := startDoIP(t, true)
			b := bgkittest.Bus(t)
			h := serve(t, b, Args{DoIPAddress: srv.Addr().String(), TargetAddress: 0x1001, IntervalMS: 5,
				SuppressResponse: tt.suppress, P2MS: 1000, Autostart: true})
			h.waitStats(t, "5 requests", func(st Stats) bool { return st.Sent >= 5 })

			// A lost connection is dialled again by the next request.
			srv.ResetConnections()
			before := h.stats(t).Sent
			h.waitStats(t, "5 requests after a reset", func(st Stats) bool { return st.Sent >= before+5 })

			if err := h.tp.Stop(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			st := h.stats(t)
			// The entity acknowledges a message before its handler runs, so
			// the request the reset cut can be on either side: handled
			// without its acknowledgement reaching us (an error, not sent),
			// or acknowledged (sent) and dropped with the connection before
			// its handler ran. When replies are checked, such a request got
			// no reply: an error too. So every request sent was handled but
			// the errors (replies checked) or the one the reset cut.
			cut := uint64(1)
			if tt.suppress != nil && !*tt.suppress {
				cut = st.Errors
			}
			poll(t, "the entity to get every request sent", func() bool { return uint64(count.Load())+cut >= st.Sent },
				func() string {
					return fmt.Sprintf("entity got %d requests, stats.sent %d, errors %d", count.Load(), st.Sent, st.Errors)
				})
			if got := uint64(count.Load()); got > st.Sent+st.Errors {
				t.Errorf("entity got %d requests, more than sent %d + errors %d", got, st.Sent, st.Errors)
			}
			// Only the period cut by the reset may have failed.
			if st.Errors > 1 {
				t.Errorf("stats %+v, want at most one error", st)
			}
		})
	}
}

func TestDoIPNoReply(t *testing.T) {
	srv, _ := startDoIP(t, false)
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{DoIPAddress: srv.Addr().String(), TargetAddress: 0x1001, IntervalMS: 5,
		SuppressResponse: ptr(false), P2MS: 2, Autostart: true})
	st := h.waitStats(t, "3 errors", func(st Stats) bool { return st.Errors >= 3 })
	if !strings.Contains(st.LastError, "no response") || !st.Running {
		t.Errorf("stats %+v", st)
	}
}

func TestDoIPDialFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b := bgkittest.Bus(t)
	s, err := New(Args{DoIPAddress: addr, TargetAddress: 0x1001})
	if err != nil {
		t.Fatal(err)
	}
	err = service.Run(testCtx(t), b, s)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Run = %v, want a dial error naming %s", err, addr)
	}
}

func TestStatsJSON(t *testing.T) {
	data, err := json.Marshal(Stats{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sent":0,"errors":0,"skipped":0,"lateness_p50_us":0,"lateness_p99_us":0,"lateness_max_us":0,` +
		`"last_error":"","interval_ms":0,"running":false}`
	if string(data) != want {
		t.Errorf("stats JSON\n%s\nwant\n%s", data, want)
	}
}

// Addresses take every hex form; errors carry the kind and "invalid
// arguments" once, and each rule is checked in one place.
func TestArgsHexAndErrors(t *testing.T) {
	var a Args
	if err := json.Unmarshal([]byte(`{"tx_id": "0x7E0", "rx_id": "7E8", "doip_address": "127.0.0.1:13400",
		"source_address": 3585, "target_address": "0xE400", "functional": true}`), &a); err != nil {
		t.Fatal(err)
	}
	if a.TxID != 0x7E0 || a.RxID != 0x7E8 || a.SourceAddress != 0x0E01 || a.TargetAddress != 0xE400 || !a.Functional {
		t.Fatalf("decoded %+v", a)
	}
	tests := []struct {
		name string
		args Args
		want string
	}{
		{"tag rule", Args{IntervalMS: -5}, "tester-present: invalid arguments: interval_ms"},
		{"code rule", Args{TxID: 0x7E8}, "tester-present: invalid arguments: tx_id and rx_id are both 0x7E8"},
		{"target required", Args{DoIPAddress: "127.0.0.1:13400"}, "tester-present: invalid arguments: target_address is required with doip_address"},
		{"address too long", Args{DoIPAddress: "127.0.0.1:13400", TargetAddress: 0x10000}, "tester-present: invalid arguments: target_address"},
		{"functional on CAN", Args{Functional: true}, "tester-present: invalid arguments: functional is for doip_address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.args)
			if err == nil || !errors.Is(err, ErrInvalidArgs) || !strings.HasPrefix(err.Error(), tt.want) || strings.Count(err.Error(), "invalid arguments") != 1 {
				t.Fatalf("error %q, want %q…", err, tt.want)
			}
		})
	}
}

// With functional, requests to a functional DoIP address count their
// replies, which come from the entity's own address.
func TestDoIPFunctional(t *testing.T) {
	srv, err := doip.Listen(doip.ServerConfig{
		Addr: "127.0.0.1:0", LogicalAddress: 0x1001, FunctionalAddresses: []uint16{0xE400},
		Handler: func(_ context.Context, _, _ uint16, data []byte) ([]byte, bool) { return []byte{0x7E, 0x00}, true },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	b := bgkittest.Bus(t)
	h := serve(t, b, Args{DoIPAddress: srv.Addr().String(), TargetAddress: 0xE400, Functional: true, IntervalMS: 5,
		SuppressResponse: ptr(false), P2MS: 1000, Autostart: true})
	h.waitStats(t, "5 requests", func(st Stats) bool { return st.Sent >= 5 })
	if err := h.tp.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := h.stats(t); st.Errors != 0 {
		t.Errorf("stats %+v, want every reply received", st)
	}
}
