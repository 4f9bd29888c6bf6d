package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// fuzzService has an endpoint for each kind of input the server decodes.
// Its methods check what reached them and panic when something that should
// have been refused got through: a panic answers 500, which FuzzRequest
// only accepts from fail.
type fuzzService struct{}

type fuzzIn struct {
	Name  string         `json:"name" validate:"required,max=16"`
	N     int            `json:"n" validate:"min=1,max=10"`
	Tags  []string       `json:"tags" validate:"max=4,dive,required"`
	Opt   *int           `json:"opt,omitempty" validate:"omitempty,gte=0"`
	Inner fuzzInner      `json:"inner"`
	Dur   time.Duration  `json:"dur"`
	When  time.Time      `json:"when"`
	Extra map[string]int `json:"extra,omitempty" validate:"max=3"`
}

type fuzzInner struct {
	X uint8 `json:"x" validate:"lte=200"`
}

func (in *fuzzIn) check() {
	switch {
	case in.Name == "" || len(in.Name) > 16:
		panic(fmt.Sprintf("validation bypassed: name %q", in.Name))
	case in.N < 1 || in.N > 10:
		panic(fmt.Sprintf("validation bypassed: n %d", in.N))
	case len(in.Tags) > 4:
		panic(fmt.Sprintf("validation bypassed: %d tags", len(in.Tags)))
	case in.Opt != nil && *in.Opt < 0:
		panic(fmt.Sprintf("validation bypassed: opt %d", *in.Opt))
	case in.Inner.X > 200:
		panic(fmt.Sprintf("validation bypassed: inner.x %d", in.Inner.X))
	case len(in.Extra) > 3:
		panic(fmt.Sprintf("validation bypassed: %d extra", len(in.Extra)))
	}
	for _, tag := range in.Tags {
		if tag == "" {
			panic("validation bypassed: empty tag")
		}
	}
}

func (fuzzService) Initialize(context.Context) error { return nil }
func (fuzzService) Shutdown(context.Context) error   { return nil }

func (fuzzService) Int(_ context.Context, n int) (int, error)                  { return n, nil }
func (fuzzService) Uint8(_ context.Context, n uint8) (uint8, error)            { return n, nil }
func (fuzzService) Str(_ context.Context, s string) (string, error)            { return s, nil }
func (fuzzService) Float(_ context.Context, f float64) (float64, error)        { return f, nil }
func (fuzzService) Bool(_ context.Context, b bool) (bool, error)               { return b, nil }
func (fuzzService) Slice(_ context.Context, s []int) (int, error)              { return len(s), nil }
func (fuzzService) Bytes(_ context.Context, b []byte) ([]byte, error)          { return b, nil }
func (fuzzService) Map(_ context.Context, m map[string]any) (int, error)       { return len(m), nil }
func (fuzzService) Any(_ context.Context, v any) (any, error)                  { return v, nil }
func (fuzzService) Array(_ context.Context, a [3]int8) ([3]int8, error)        { return a, nil }
func (fuzzService) Duration(_ context.Context, d time.Duration) (int64, error) { return int64(d), nil }

func (fuzzService) Raw(_ context.Context, m json.RawMessage) (json.RawMessage, error) {
	return m, nil
}

func (fuzzService) Struct(_ context.Context, in fuzzIn) (fuzzIn, error) {
	in.check()
	return in, nil
}

// Ptr gets nil for "null": validation has nothing to check then.
func (fuzzService) Ptr(_ context.Context, in *fuzzIn) (bool, error) {
	if in == nil {
		return false, nil
	}
	in.check()
	return true, nil
}

func (fuzzService) None(context.Context) (string, error) { return "ok", nil }

// Fail is the one endpoint whose own error answers 500.
func (fuzzService) Fail(_ context.Context, msg string) error { return errors.New(msg) }

// Refuse answers 400 of its own for a negative number.
func (fuzzService) Refuse(_ context.Context, n int) error {
	if n < 0 {
		return BadRequest(errors.New("negative"))
	}
	return nil
}

// Left reports the milliseconds left before the call's deadline, -1 for none.
func (fuzzService) Left(ctx context.Context) (int64, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return -1, nil
	}
	return time.Until(dl).Milliseconds(), nil
}

// newFuzzServer is the server of Run without its NATS side: s.call is the
// whole request path after the subject has been matched.
func newFuzzServer(tb testing.TB) *server {
	tb.Helper()
	eps, err := Endpoints(fuzzService{})
	if err != nil {
		tb.Fatal(err)
	}
	o := options{name: "FUZZ", logger: slog.New(slog.DiscardHandler), grace: time.Second, concurrency: 1}
	life := withService(context.Background(), nil, o.name)
	return newServer(nil, o, eps, life)
}

// maxSafeTimeoutMs is the largest Bgkit-Timeout-Ms a time.Duration holds.
const maxSafeTimeoutMs = math.MaxInt64 / int64(time.Millisecond)

// FuzzRequest feeds arbitrary method names, payloads and timeout headers to
// the server's call path: no panic escapes, the code is 0 or 400 (500 only
// from fail, a service error of its own), a success means the payload was
// JSON the endpoint's type takes, and a success's output is JSON.
func FuzzRequest(f *testing.F) {
	s := newFuzzServer(f)
	for _, seed := range []struct{ method, data, timeout string }{
		{"int", "5", ""},
		{"int", `"five"`, ""},
		{"int", "1.5", ""},
		{"int", "99999999999999999999", ""},
		{"int", "1e400", ""},
		{"int", "5 6", ""},
		{"int", " \t\n 7 \n", "1000"},
		{"int", "null", ""},
		{"uint8", "256", ""},
		{"uint8", "-1", ""},
		{"str", `"h\u00e9\ud800llo"`, ""},
		{"str", "\"\xff\xfe\"", ""},
		{"str", `"unterminated`, ""},
		{"float", "-0", ""},
		{"float", "1e308", ""},
		{"bool", "tru", ""},
		{"slice", "[1,2,3]", ""},
		{"slice", `[1,"x"]`, ""},
		{"slice", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), ""},
		{"bytes", `"aGVsbG8="`, ""},
		{"bytes", `"not base64!"`, ""},
		{"map", `{"a":{"b":[null,true,1e5]}}`, ""},
		{"map", `{"a":1,"a":2}`, ""},
		{"any", `[{"deep":[[[[{}]]]]}]`, ""},
		{"array", "[1,2,3,4]", ""},
		{"array", "[128]", ""},
		{"duration", `"1s"`, ""},
		{"raw", `{"x":[1,2]}`, ""},
		{"raw", `{"x":`, ""},
		{"struct", `{"name":"a","n":1}`, ""},
		{"struct", `{"name":"a","n":0}`, ""},
		{"struct", `{"name":"","n":11,"tags":["",""],"opt":-1}`, ""},
		{"struct", `{"name":"a","n":1,"colour":"red"}`, ""},
		{"struct", `{"name":"a","n":1}{"name":"b","n":2}`, ""},
		{"struct", `{"name":"a","n":1,"inner":{"x":201}}`, ""},
		{"struct", `{"name":"a","n":1,"when":"yesterday"}`, ""},
		{"struct", `{"name":"a","n":1,"extra":{"a":1,"b":2,"c":3,"d":4}}`, ""},
		{"struct", `{"name":"a","n":1,"tags":["x","y","z","w","v"]}`, ""},
		{"struct", `[]`, ""},
		{"ptr", "null", ""},
		{"ptr", `{"name":"a","n":3,"opt":0}`, ""},
		{"ptr", `{"name":"a","n":3,"opt":-5}`, ""},
		{"none", "", ""},
		{"none", "{}", ""},
		{"none", "[]", ""},
		{"fail", `"disk full"`, ""},
		{"fail", `5`, ""},
		{"refuse", "-1", ""},
		{"left", "", "250"},
		{"left", "", "-5"},
		{"left", "\x1e250\n", ""},
		{"left", "\x1e250\n", "100"},
		{"left", "\x1e100\n", "250"},
		{"left", "\x1e0\n", ""},
		{"left", "\x1e\n", ""},
		{"left", "\x1e9223372036855\n", ""},
		{"left", "\x1e9223372036854\n", ""},
		{"int", "\x1e12\n 5", ""},
		{"int", "\x1e12x\n5", ""},
		{"int", "\x1e1234567890123456789012\n5", ""},
		{"int", "\x1e12", ""},
		{"none", "\x1e5\n", ""},
		{"left", "", "abc"},
		{"left", "", strconv.FormatInt(maxSafeTimeoutMs, 10)},
		{"nope", "{}", ""},
		{"svc.FUZZ.int", "1", ""},
		{"", "", ""},
	} {
		f.Add(seed.method, []byte(seed.data), seed.timeout)
	}
	names := slices.Sorted(maps.Keys(s.eps))
	f.Fuzz(func(t *testing.T, method string, data []byte, timeout string) {
		ep, ok := s.eps[method]
		if !ok {
			// Not an endpoint (onRequest answers 404 before decoding):
			// let the name pick one, so every input exercises a decoder.
			var sum int
			for _, c := range []byte(method) {
				sum += int(c)
			}
			ep = s.eps[names[sum%len(names)]]
		}
		m := &nats.Msg{Subject: "svc.FUZZ." + ep.Name, Data: data, Header: nats.Header{}}
		if timeout != "" {
			m.Header.Set(TimeoutHeader, timeout)
		}
		ms, msErr := strconv.ParseInt(timeout, 10, 64)
		if msErr == nil && ms > maxSafeTimeoutMs {
			t.Skip("timeouts past time.Duration's range: see TestTimeoutHeaderOverflow")
		}
		if msErr != nil || ms <= 0 {
			ms, msErr = 0, nil
		}
		out, code, msg := s.call(ep, m)
		input, prefixMS, prefixOK := refTimeoutPrefix(data)
		if !prefixOK {
			if code != CodeBadRequest || !strings.Contains(msg, "timeout prefix") {
				t.Fatalf("%s(%q): malformed timeout prefix answered %d %s, want 400", ep.Name, data, code, msg)
			}
			return
		}
		if prefixMS > 0 && (ms == 0 || prefixMS < ms) {
			ms = prefixMS
		}
		checkCall(t, ep, bytes.TrimSpace(input), out, code, msg)
		if ep.Name == "left" && code == 0 {
			var left int64
			if err := json.Unmarshal(out, &left); err != nil {
				t.Fatalf("left: output %q: %v", out, err)
			}
			switch {
			case ms == 0:
				if left != -1 {
					t.Fatalf("timeout %q gave a deadline %d ms away", timeout, left)
				}
			case left > ms || left < ms-int64(10*time.Second/time.Millisecond):
				t.Fatalf("timeout %q gave a deadline %d ms away", timeout, left)
			}
		}
	})
}

// checkCall checks the result of s.call for trimmed input data.
// refTimeoutPrefix is the budget prefix as documented, read another way:
// a body that starts with RS must go on with 1 to 19 digits, a budget of
// 1 to maxSafeTimeoutMs ms, and LF; ok is false when it does not.
func refTimeoutPrefix(data []byte) (input []byte, ms int64, ok bool) {
	if !bytes.HasPrefix(data, []byte{0x1e}) {
		return data, 0, true
	}
	digits, rest, found := bytes.Cut(data[1:], []byte{'\n'})
	if !found || len(digits) == 0 || len(digits) > 19 || bytes.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		return nil, 0, false
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil || n < 1 || n > maxSafeTimeoutMs {
		return nil, 0, false
	}
	return rest, n, true
}

func checkCall(t *testing.T, ep *endpoint, data, out []byte, code int, msg string) {
	t.Helper()
	switch code {
	case 0:
	case CodeBadRequest:
	case CodeInternal:
		if ep.Name != "fail" {
			t.Fatalf("%s(%q): 500 %s", ep.Name, data, msg)
		}
	default:
		t.Fatalf("%s(%q): code %d %s", ep.Name, data, code, msg)
	}
	if code != 0 {
		if msg == "" {
			t.Fatalf("%s(%q): code %d without a message", ep.Name, data, code)
		}
		if out != nil {
			t.Fatalf("%s(%q): code %d with output %q", ep.Name, data, code, out)
		}
	}
	if ep.In == nil {
		noArg := len(data) == 0 || string(data) == "null" || string(data) == "{}" || string(data) == `""`
		if noArg != (code == 0) {
			t.Fatalf("%s takes no argument; with %q got code %d %s", ep.Name, data, code, msg)
		}
	} else {
		// Anything that is not one JSON value is refused.
		if (len(data) == 0 || !json.Valid(data)) && code != CodeBadRequest {
			t.Fatalf("%s(%q): code %d for input that is not JSON, want 400", ep.Name, data, code)
		}
		// Loose endpoints take exactly what encoding/json decodes, but
		// null for a scalar (which it leaves at the zero value), at the
		// top or inside, and a key given twice (the token walk says).
		if !ep.strict && len(data) > 0 {
			_, silent := refDuplicateField(data, ep.In)
			decodes := json.Unmarshal(data, reflect.New(ep.In).Interface()) == nil &&
				!(string(data) == "null" && isScalar(ep.In.Kind())) && !silent
			refused := code == CodeBadRequest && !(ep.Name == "refuse" && strings.Contains(msg, "negative"))
			if decodes == refused {
				t.Fatalf("%s(%q): code %d %s, but encoding/json decodes it: %v", ep.Name, data, code, msg, decodes)
			}
		}
	}
	if code == 0 {
		if ep.Out == nil && out != nil {
			t.Fatalf("%s(%q): output %q from a method without one", ep.Name, data, out)
		}
		if ep.Out != nil && !json.Valid(out) {
			t.Fatalf("%s(%q): output %q is not JSON", ep.Name, data, out)
		}
	}
}

// TestFuzzServerCodes pins the codes of a few inputs, so that the fuzz
// target's checks are known to see each outcome.
func TestFuzzServerCodes(t *testing.T) {
	s := newFuzzServer(t)
	for _, tc := range []struct {
		name, method, data string
		code               int
		out                string
	}{
		{"int", "int", " 42 ", 0, "42"},
		{"int as string", "int", `"42"`, 400, ""},
		{"overflow", "uint8", "256", 400, ""},
		{"struct", "struct", `{"name":"a","n":2}`, 0, ""},
		{"unknown field", "struct", `{"name":"a","n":2,"x":1}`, 400, ""},
		{"invalid struct", "struct", `{"name":"a","n":0}`, 400, ""},
		{"two values", "struct", `{"name":"a","n":1} {}`, 400, ""},
		{"nil pointer", "ptr", "null", 0, "false"},
		{"invalid pointer", "ptr", `{"name":"a","n":99}`, 400, ""},
		{"no argument", "none", "", 0, `"ok"`},
		{"unwanted argument", "none", "1", 400, ""},
		{"own 500", "fail", `"disk full"`, 500, ""},
		{"own 400", "refuse", "-1", 400, ""},
		{"missing argument", "int", "", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := s.eps[tc.method]
			out, code, msg := s.call(ep, &nats.Msg{Data: []byte(tc.data)})
			if code != tc.code {
				t.Fatalf("code %d %q, want %d", code, msg, tc.code)
			}
			if tc.out != "" && string(out) != tc.out {
				t.Fatalf("out %q, want %q", out, tc.out)
			}
			checkCall(t, ep, bytes.TrimSpace([]byte(tc.data)), out, code, msg)
		})
	}
}

// TestPanicStaysInCall: a method that panics answers 500 and the server
// goes on.
func TestPanicStaysInCall(t *testing.T) {
	s := newFuzzServer(t)
	_, code, msg := s.call(s.eps["struct"], &nats.Msg{Data: []byte(`{}`)})
	if code != CodeBadRequest {
		t.Fatalf("empty struct: %d %s, want 400 from validation", code, msg)
	}
	// check() panics if validation let this through; it does not.
	if _, code, msg := s.call(s.eps["ptr"], &nats.Msg{Data: []byte(`{"name":"abcdefghijklmnopq","n":1}`)}); code != CodeBadRequest {
		t.Fatalf("long name: %d %s, want 400", code, msg)
	}
}

// TestTimeoutHeaderOverflow: a Bgkit-Timeout-Ms past what time.Duration
// holds (about 292 years) must not give the method an expired deadline.
//
// Was a bug (service/serve.go, call): time.Duration(ms)*time.Millisecond
// overflows, so 9223372036854775807 becomes -1 ms and the method's ctx has
// already expired. Fix: treat ms > math.MaxInt64/int64(time.Millisecond)
// as no deadline (or clamp it).
func TestTimeoutHeaderOverflow(t *testing.T) {
	s := newFuzzServer(t)
	for _, ms := range []int64{maxSafeTimeoutMs + 1, math.MaxInt64} {
		m := &nats.Msg{Header: nats.Header{TimeoutHeader: {strconv.FormatInt(ms, 10)}}}
		out, code, msg := s.call(s.eps["left"], m)
		if code != 0 {
			t.Fatalf("left with timeout %d: %d %s", ms, code, msg)
		}
		left, _ := strconv.ParseInt(string(out), 10, 64)
		if left != -1 && left <= 0 {
			t.Fatalf("timeout header %d ms gives a deadline %d ms away (overflow)", ms, left)
		}
	}
}

// blockService's Block runs until Shutdown.
type blockService struct{ started, release chan struct{} }

func (blockService) Initialize(context.Context) error { return nil }
func (s blockService) Shutdown(context.Context) error {
	close(s.release)
	return nil
}
func (s blockService) Block(context.Context) error {
	close(s.started)
	<-s.release
	return nil
}

// TestDrainRace stops a service, from outside the request path as a signal
// does, while a call is in flight; run it with -race.
//
// Was a bug (service/serve.go, onRequest and Run): onRequest checked
// s.stopping and then calls s.inflight.Add(1) on the subscription's
// goroutine, with nothing ordering it before Run's s.inflight.Wait. The
// race detector reports the WaitGroup misuse (an Add from zero concurrent
// with Wait); in a child under -race the report lands in its stderr. And a
// call that passed the stopping check just before Run set it can start
// after the drain, while or after Shutdown runs. Fix: make the check and
// the Add one critical section (a mutex that Run also takes to set
// stopping before it waits).
func TestDrainRace(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	svc := blockService{started: make(chan struct{}), release: make(chan struct{})}
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, b, svc, WithName("BLOCK"), WithShutdownTimeout(200*time.Millisecond),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			WithOnReady(func(Info) { close(ready) }))
	}()
	<-ready
	// The stop is scheduled before the call is made, so nothing orders
	// the call's admission before it: like SIGTERM in a child.
	stop := time.AfterFunc(300*time.Millisecond, cancel)
	defer stop.Stop()
	if err := b.Conn().Publish("svc.BLOCK.block", nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-svc.started:
	default:
		t.Fatal("block never ran")
	}
	// Run waited for the call (and gave up after its grace period).
	if !strings.Contains(logs.String(), "calls still running at shutdown") {
		t.Fatalf("the call was not in flight at the stop; logs: %s", logs.String())
	}
}
