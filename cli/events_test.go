package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// EventSourceService emits what it is told to: EVENT_SOURCE_SERVICE.
type EventSourceService struct{}

type fireArgs struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

func (*EventSourceService) Initialize(context.Context) error { return nil }
func (*EventSourceService) Shutdown(context.Context) error   { return nil }

// Fire emits one event.
func (*EventSourceService) Fire(ctx context.Context, a fireArgs) error {
	return service.Emit(ctx, a.Topic, a.Data)
}

// eventsFixture is a bus with EVENT_SOURCE_SERVICE served in-process.
type eventsFixture struct {
	b   *bus.Bus
	url string
	c   *controller.Controller
}

func newEventsFixture(t *testing.T) *eventsFixture {
	t.Helper()
	b := bgkittest.Bus(t)
	bgkittest.Serve(t, b, &EventSourceService{})
	c, err := controller.Connect(t.Context(), b, "EVENT_SOURCE_SERVICE")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &eventsFixture{b: b, url: b.Credentials().ShareURL(), c: c}
}

func (f *eventsFixture) fire(t *testing.T, topic, data string) {
	t.Helper()
	if err := f.c.Call(t.Context(), "fire", fireArgs{Topic: topic, Data: json.RawMessage(data)}, nil); err != nil {
		t.Fatal(err)
	}
}

func (f *eventsFixture) life(t *testing.T, ev bus.LifeEvent) {
	t.Helper()
	data, _ := json.Marshal(ev)
	if err := f.b.Conn().Publish(bus.LifeSubject(ev.Name), data); err != nil {
		t.Fatal(err)
	}
}

// follow runs `events args...` in-process until the test ends and returns
// its stdout lines.
func (f *eventsFixture) follow(t *testing.T, args ...string) chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &lineWriter{lines: make(chan string, 1000)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"events", "--no-color", "--server", f.url}, args...), w, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("events %v: %v", args, err)
		}
	})
	return w.lines
}

// until fires topic until a line containing it shows: events is then
// subscribed. It returns that line.
func (f *eventsFixture) until(t *testing.T, lines chan string, topic, data string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		f.fire(t, topic, data)
		select {
		case l := <-lines:
			if strings.Contains(l, topic) {
				return l
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("events printed no %s", topic)
		}
	}
}

func nextLine(t *testing.T, lines chan string) string {
	t.Helper()
	select {
	case l := <-lines:
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("events printed nothing more")
		return ""
	}
}

func TestEventsLines(t *testing.T) {
	f := newEventsFixture(t)
	lines := f.follow(t)
	f.until(t, lines, "ready", `{}`)
	f.sync(t, lines, "ready")
	f.fire(t, "session_changed", `{"from":1,"to":3,"cause":"request","detail":{"s3_ms":5000}}`)
	got := nextLine(t, lines)
	for _, want := range []string{"level=INFO", "msg=session_changed", "service=EVENT_SOURCE_SERVICE", "from=1 to=3 cause=request", `detail="{\"s3_ms\":5000}"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("event line %q lacks %q", got, want)
		}
	}
	f.fire(t, "count", `42`)
	if got := nextLine(t, lines); !strings.Contains(got, "msg=count") || !strings.Contains(got, "data=42") {
		t.Fatalf("event line %q: want msg=count data=42", got)
	}
	f.life(t, bus.LifeEvent{Event: bus.LifeExited, Name: "EVENT_SOURCE_SERVICE", PID: 42, Host: "rigbox", Time: time.Now(), Status: 3, Error: "exit status 3"})
	got = nextLine(t, lines)
	for _, want := range []string{"level=ERROR", `msg="service exited"`, "service=EVENT_SOURCE_SERVICE", "pid=42", "host=rigbox", "status=3", `error="exit status 3"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("lifecycle line %q lacks %q", got, want)
		}
	}
	f.life(t, bus.LifeEvent{Event: bus.LifeRestarting, Name: "EVENT_SOURCE_SERVICE", Time: time.Now(), Attempt: 2, BackoffMS: 400})
	if got := nextLine(t, lines); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "attempt=2 backoff=400ms") || strings.Contains(got, "status=") {
		t.Fatalf("restarting line %q", got)
	}
}

func TestEventsJSON(t *testing.T) {
	f := newEventsFixture(t)
	lines := f.follow(t, "--json", "EVENT_SOURCE_SERVICE")
	f.until(t, lines, "ready", `{}`)
	f.sync(t, lines, "ready")
	before := time.Now()
	f.fire(t, "session_changed", `{"from": 1, "to": 3}`)
	var ev struct {
		Service string          `json:"service"`
		Topic   string          `json:"topic"`
		Time    time.Time       `json:"time"`
		Data    json.RawMessage `json:"data"`
	}
	line := nextLine(t, lines)
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if ev.Service != "EVENT_SOURCE_SERVICE" || ev.Topic != "session_changed" || string(ev.Data) != `{"from":1,"to":3}` || ev.Time.Before(before.Add(-time.Second)) {
		t.Fatalf("event %s", line)
	}
	sent := bus.LifeEvent{Event: bus.LifeStarted, Name: "EVENT_SOURCE_SERVICE", ID: "abc", PID: 7, Host: "h", Time: time.Now().UTC().Truncate(time.Millisecond)}
	f.life(t, sent)
	line = nextLine(t, lines)
	var got bus.LifeEvent
	if err := json.Unmarshal([]byte(line), &got); err != nil || got != sent {
		t.Fatalf("lifecycle %q (%v), want %+v", line, err, sent)
	}
}

// TestEventsFilters: NAME TOPIC follows that topic (and the service's
// lifecycle) only; another service's events do not show under NAME.
func TestEventsFilters(t *testing.T) {
	f := newEventsFixture(t)
	lines := f.follow(t, "EVENT_SOURCE_SERVICE", "wanted")
	f.until(t, lines, "wanted", `{"n":0}`)
	f.sync(t, lines, "wanted")
	f.fire(t, "unwanted", `{}`)
	f.life(t, bus.LifeEvent{Event: bus.LifeStarted, Name: "OTHER_SERVICE", Time: time.Now()})
	f.life(t, bus.LifeEvent{Event: bus.LifeStarted, Name: "EVENT_SOURCE_SERVICE", Time: time.Now()})
	f.fire(t, "wanted", `{"n":1}`)
	if got := nextLine(t, lines); !strings.Contains(got, `msg="service started"`) || !strings.Contains(got, "service=EVENT_SOURCE_SERVICE") {
		t.Fatalf("first line %q: want the service's own lifecycle, not the unwanted topic or another service", got)
	}
	if got := nextLine(t, lines); !strings.Contains(got, "msg=wanted") || !strings.Contains(got, "n=1") {
		t.Fatalf("second line %q: want the wanted event", got)
	}
	// --life=false leaves the lifecycle out.
	quiet := f.follow(t, "--life=false", "EVENT_SOURCE_SERVICE")
	f.until(t, quiet, "ready", `{}`)
	f.sync(t, quiet, "ready")
	f.life(t, bus.LifeEvent{Event: bus.LifeStarted, Name: "EVENT_SOURCE_SERVICE", Time: time.Now()})
	f.fire(t, "after", `{}`)
	if got := nextLine(t, quiet); !strings.Contains(got, "msg=after") {
		t.Fatalf("--life=false printed %q", got)
	}
}

func TestEventsUsage(t *testing.T) {
	t.Setenv("NATS_URL", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "A", "b", "c"}, "at most a service NAME and a TOPIC"},
		{[]string{"events", "a.b"}, "events: "},
		{[]string{"events", "A", "x.y"}, "events: "},
		{[]string{"events"}, "no bus"},
	} {
		_, errOut, code := runCLI(t, context.Background(), tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// sync fires a topic event with a fresh marker and skips lines until it
// shows: the events of the service fired before it (the readiness loop's)
// are behind, as one service's events arrive in order.
func (f *eventsFixture) sync(t *testing.T, lines chan string, topic string) {
	t.Helper()
	marker := fmt.Sprintf("sync-%d", time.Now().UnixNano())
	f.fire(t, topic, fmt.Sprintf(`{"marker":%q}`, marker))
	for !strings.Contains(nextLine(t, lines), marker) {
	}
}
