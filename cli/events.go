package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

const eventsExamples = `  bgkit events                                  # every event and lifecycle change of every service
  bgkit events ECU_SIM_SERVICE                  # one service's
  bgkit events ECU_SIM_SERVICE session_changed  # one topic, and the service's lifecycle
  bgkit events --json | jq -c 'select(.topic == "ecu_lost")'
`

// followBuffer and followBufferBytes bound what `events` and `logs`
// hold for a slow terminal; past either, they drop messages and then say
// how many.
const (
	followBuffer      = 1 << 16
	followBufferBytes = 64 << 20
)

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events", "[NAME [TOPIC]] [flags]", eventsExamples, stdout)
	asJSON := fs.Bool("json", false, `one JSON object per line: {"service","topic","time","data"} for an event, the life.NAME payload for a lifecycle change`)
	life := fs.Bool("life", true, "also follow lifecycle changes (life.NAME: started, exited, restarting)")
	var bf busFlags
	bf.register(fs)
	var lf logFlags
	lf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 2 {
		return usagef("events takes at most a service NAME and a TOPIC")
	}
	var name, topic string
	if len(pos) > 0 {
		name = pos[0]
		if err := bus.ValidateName(name); err != nil {
			return usagef("events: %v", err)
		}
	}
	if len(pos) > 1 {
		topic = pos[1]
		if err := bus.ValidateTopic(topic); err != nil {
			return usagef("events: %v", err)
		}
	}
	logger, err := lf.logger(stdout)
	if err != nil {
		return err
	}
	b, err := bf.connect(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer b.Close()
	nc := b.Conn()
	subjects := []string{bus.EventWildcard(name)}
	if topic != "" {
		subjects[0] = bus.EventSubject(name, topic)
	}
	if *life {
		subjects = append(subjects, bus.LifeSubject(name))
	}
	// One channel for both subscriptions keeps their messages in the order
	// they arrived; a goroutine moves them to a queue bounded in bytes too
	// (a channel subscription bounds only the number).
	msgs := make(chan *nats.Msg, 4096)
	q := newFollowQueue()
	ctx, stop := context.WithCancel(ctx)
	defer stop() // ends fill
	go q.fill(ctx, msgs)
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	for _, subj := range subjects {
		s, err := nc.ChanSubscribe(subj, msgs)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		subs = append(subs, s)
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if followingForTest != nil {
		followingForTest(func() int { return droppedCount(subs) + q.droppedCount() })
	}
	out := &eventPrinter{w: stdout, h: logger.Handler(), json: *asJSON}
	var dropped int
	for {
		m := q.take()
		if m == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-q.ready:
			}
		} else if err := out.print(ctx, m, time.Now()); err != nil {
			return err
		}
		if n := droppedCount(subs) + q.droppedCount(); n > dropped {
			out.note(ctx, n-dropped)
			dropped = n
		}
	}
}

// followQueue holds messages for a slow terminal in the order they came,
// at most followBuffer of them and followBufferBytes of their bytes; it
// drops and counts the rest.
type followQueue struct {
	mu      sync.Mutex
	msgs    []*nats.Msg
	bytes   int
	dropped int
	ready   chan struct{} // a token once a message is queued
}

func newFollowQueue() *followQueue { return &followQueue{ready: make(chan struct{}, 1)} }

// fill queues what arrives on in until ctx ends.
func (q *followQueue) fill(ctx context.Context, in <-chan *nats.Msg) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			q.put(m)
		}
	}
}

func msgSize(m *nats.Msg) int { return len(m.Subject) + len(m.Data) }

// put queues m, or drops and counts it; either way the reader is woken
// (a drop is told even with nothing queued).
func (q *followQueue) put(m *nats.Msg) {
	n := msgSize(m)
	q.mu.Lock()
	if len(q.msgs) >= followBuffer || q.bytes+n > followBufferBytes {
		q.dropped++
	} else {
		q.msgs = append(q.msgs, m)
		q.bytes += n
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take removes and returns the oldest message, nil if none waits.
func (q *followQueue) take() *nats.Msg {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) == 0 {
		return nil
	}
	m := q.msgs[0]
	q.msgs[0] = nil
	q.msgs = q.msgs[1:]
	if len(q.msgs) == 0 {
		q.msgs = nil // let the array go
	}
	q.bytes -= msgSize(m)
	return m
}

func (q *followQueue) droppedCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// followingForTest, set by tests only, is handed each follower's count
// of the messages it dropped so far, once it follows: a test that stalls
// the terminal can await the drop instead of guessing when the server has
// delivered a burst.
var followingForTest func(dropped func() int)

func droppedCount(subs []*nats.Subscription) int {
	n := 0
	for _, s := range subs {
		if d, err := s.Dropped(); err == nil {
			n += d
		}
	}
	return n
}

// eventPrinter writes events and lifecycle changes as log lines (like
// `bgkit logs`) or as JSON lines.
type eventPrinter struct {
	w    io.Writer
	h    slog.Handler
	json bool
}

// eventLine is the --json form of an event.
type eventLine struct {
	Service string          `json:"service"`
	Topic   string          `json:"topic"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

func (p *eventPrinter) print(ctx context.Context, m *nats.Msg, received time.Time) error {
	if name, ok := strings.CutPrefix(m.Subject, bus.LifePrefix); ok {
		return p.life(ctx, name, m.Data)
	}
	rest, _ := strings.CutPrefix(m.Subject, bus.EventPrefix)
	service, topic, _ := strings.Cut(rest, ".")
	data := m.Data
	if !json.Valid(data) {
		b, _ := json.Marshal(string(data)) // not JSON: show it as a string
		data = b
	}
	if p.json {
		var c bytes.Buffer
		_ = json.Compact(&c, data)
		return p.line(eventLine{Service: service, Topic: topic, Time: received, Data: c.Bytes()})
	}
	rec := slog.NewRecord(received, slog.LevelInfo, topic, 0)
	rec.AddAttrs(slog.String("service", service))
	rec.AddAttrs(dataAttrs(data)...)
	return p.handle(ctx, rec)
}

// life prints the payload of life.NAME.
func (p *eventPrinter) life(ctx context.Context, name string, data []byte) error {
	var ev bus.LifeEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		if p.json {
			b, _ := json.Marshal(map[string]string{"name": name, "error": "undecodable lifecycle event", "raw": string(data)})
			return p.lineBytes(b)
		}
		rec := slog.NewRecord(time.Now(), slog.LevelWarn, "undecodable lifecycle event", 0)
		rec.AddAttrs(slog.String("service", name), slog.String("raw", string(data)))
		return p.handle(ctx, rec)
	}
	if p.json {
		var c bytes.Buffer
		_ = json.Compact(&c, data)
		return p.lineBytes(c.Bytes())
	}
	if ev.Name == "" {
		ev.Name = name
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	level := slog.LevelInfo
	switch {
	case ev.Event == bus.LifeRestarting:
		level = slog.LevelWarn
	case ev.Event == bus.LifeExited && (ev.Status != 0 || ev.Signal != "" || ev.Error != ""):
		level = slog.LevelError
	}
	rec := slog.NewRecord(ev.Time, level, "service "+ev.Event, 0)
	rec.AddAttrs(slog.String("service", ev.Name))
	if ev.PID != 0 {
		rec.AddAttrs(slog.Int("pid", ev.PID))
	}
	rec.AddAttrs(slog.String("host", ev.Host), slog.String("id", ev.ID))
	if ev.Event == bus.LifeExited {
		rec.AddAttrs(slog.Int("status", ev.Status), slog.String("signal", ev.Signal))
	}
	rec.AddAttrs(slog.String("error", ev.Error))
	if ev.Event == bus.LifeRestarting {
		rec.AddAttrs(slog.Int("attempt", ev.Attempt), slog.Duration("backoff", time.Duration(ev.BackoffMS)*time.Millisecond))
	}
	return p.handle(ctx, rec)
}

// note says that n messages were dropped for a slow reader.
func (p *eventPrinter) note(ctx context.Context, n int) {
	if p.json {
		return // stdout holds only events; the count is not one
	}
	droppedNote(ctx, p.h, "events", n)
}

// droppedNote says, in a WARN record, that a follower (events, logs)
// dropped n messages for a slow terminal.
func droppedNote(ctx context.Context, h slog.Handler, what string, n int) {
	rec := slog.NewRecord(time.Now(), slog.LevelWarn, what+" dropped: the terminal could not keep up", 0)
	rec.AddAttrs(slog.Int("dropped", n))
	if h.Enabled(ctx, rec.Level) {
		_ = h.Handle(ctx, rec)
	}
}

func (p *eventPrinter) handle(ctx context.Context, rec slog.Record) error {
	if !p.h.Enabled(ctx, rec.Level) {
		return nil
	}
	return p.h.Handle(ctx, rec)
}

func (p *eventPrinter) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return p.lineBytes(b)
}

func (p *eventPrinter) lineBytes(b []byte) error {
	_, err := p.w.Write(append(b, '\n'))
	return err
}

// dataAttrs shows an event's JSON: the fields of an object as attributes,
// in their order (strings as strings, other values as their JSON), any
// other value as data=<JSON>.
func dataAttrs(data []byte) []slog.Attr {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []slog.Attr{slog.String("data", string(bytes.TrimSpace(data)))}
	}
	var attrs []slog.Attr
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			break
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			attrs = append(attrs, slog.String(key, s))
			continue
		}
		var c bytes.Buffer
		_ = json.Compact(&c, raw)
		attrs = append(attrs, slog.String(key, c.String()))
	}
	return attrs
}
