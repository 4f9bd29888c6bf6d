package bgkittest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// testOutput writes lines to a test's output until the test's cleanup has
// run. testing panics on output after a test has completed, and a child's
// relay (or the bus's server) may still hand over a record then.
//
// Once the test has failed, a child's records are held rather than written
// (see [testOutput.release]): a record the child logged while serving a
// call can reach the parent after the reply, and so after the t.Fatalf
// that the reply led to, where it would read as if it came after the
// failure.
//
// Whether the test has failed is only known from t.Failed, and t.Fatalf
// writes its message before it marks the test failed. Such a record comes
// in with the reply, while the test goroutine runs its Fatalf: with -v the
// message is a write to a pipe, which often hands the processor to the
// reader, and on a loaded machine the test goroutine's thread then waits
// milliseconds before it marks the failure, while t.Failed is still false.
// So a holding output decides on a line only once it has settled, settle
// after it arrived: lines wait in order in pending, without holding up the
// relay, and a goroutine (the settler) decides on each in turn. Where the
// test goroutine is known not to be failing — Spawn returning, a
// LogRecorder handing it a record — flushNow decides on every pending
// line at once, so that the lines the test has waited for are in its
// output before it goes on.
type testOutput struct {
	mu       sync.Mutex
	w        io.Writer   // nil once closed
	failed   func() bool // t.Failed; nil: never hold
	held     []string    // lines that arrived after the test failed
	released bool        // release has run: write everything at once

	settle  time.Duration
	pending []pendingLine // lines not decided on yet, oldest first
	kick    chan struct{} // wakes the settler; nil until it runs
	quit    chan struct{} // closed by close
	exited  chan struct{} // closed when the settler has returned
}

// pendingLine is a line waiting to settle.
type pendingLine struct {
	line string
	at   time.Time
}

// settleDelay is how long a holding output waits before it decides whether
// a line came after the test's failure: longer than a loaded machine
// keeps a test goroutine between a t.Fatalf's message and its marking of
// the failure, short enough for the output of a running test to follow
// its children closely.
const settleDelay = 25 * time.Millisecond

// newTestOutput returns the output of t. Its close is registered with
// t.Cleanup now, so it runs after every cleanup registered later (cleanups
// run last-in first-out): records relayed while a child is terminated in
// such a cleanup are still written. With hold, lines that arrive once the
// test has failed are held until release.
func newTestOutput(t testing.TB, hold bool) *testOutput {
	o := &testOutput{w: t.Output(), settle: settleDelay, quit: make(chan struct{})}
	if hold {
		o.failed = t.Failed
	}
	t.Cleanup(o.close)
	return o
}

// writeLine writes line or holds it, at once or, for a holding output
// whose test has not failed, once the line has settled.
func (o *testOutput) writeLine(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w == nil || o.failed == nil || o.released || (len(o.pending) == 0 && o.failed()) {
		o.decide(line)
		return
	}
	o.pending = append(o.pending, pendingLine{line: line, at: time.Now()})
	if o.kick == nil {
		o.kick, o.exited = make(chan struct{}, 1), make(chan struct{})
		go o.settler()
	}
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// decide writes line, holds it, or drops it once closed. o.mu is held.
func (o *testOutput) decide(line string) {
	switch {
	case o.w == nil:
	case o.failed != nil && !o.released && o.failed():
		o.held = append(o.held, line)
	default:
		_, _ = io.WriteString(o.w, line+"\n")
	}
}

// flush decides on the pending lines that have settled, or on all of
// them. o.mu is held.
func (o *testOutput) flush(all bool) {
	n := 0
	for _, p := range o.pending {
		if !all && time.Since(p.at) < o.settle {
			break
		}
		o.decide(p.line)
		n++
	}
	o.pending = append(o.pending[:0], o.pending[n:]...)
}

// flushNow decides on every pending line at once.
func (o *testOutput) flushNow() {
	o.mu.Lock()
	o.flush(true)
	o.mu.Unlock()
}

// settler decides on pending lines as they settle, until close.
func (o *testOutput) settler() {
	defer close(o.exited)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		o.mu.Lock()
		o.flush(false)
		wait := time.Duration(0)
		if len(o.pending) > 0 {
			wait = max(o.settle-time.Since(o.pending[0].at), time.Microsecond)
		}
		o.mu.Unlock()
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-o.kick:
		case <-tick:
		case <-o.quit:
			return
		}
	}
}

// release writes the held lines, under a heading that says why they come
// after the failure, and writes every later line at once. Lines still
// settling are decided on first: after a failure, they are held.
func (o *testOutput) release(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flush(true)
	if o.w != nil && len(o.held) > 0 {
		_, _ = fmt.Fprintf(o.w, "bgkittest: %d record(s) of %s reached the test after it had failed; they may explain the failure:\n", len(o.held), name)
		for _, l := range o.held {
			_, _ = io.WriteString(o.w, "  "+strings.ReplaceAll(l, "\n", "\n  ")+"\n")
		}
	}
	o.held, o.released = nil, true
}

// close stops the output; the settler has exited when it returns.
func (o *testOutput) close() {
	o.mu.Lock()
	o.flush(true)
	o.w = nil
	exited := o.exited
	o.mu.Unlock()
	close(o.quit)
	if exited != nil {
		<-exited
	}
}

// serviceKey is the attribute spawn adds to every relayed record.
const serviceKey = "service"

// recordHandler is the slog.Handler behind Spawn's and Bus's loggers: it
// hands each record, with the attributes of WithAttrs and WithGroup folded
// in, to a LogRecorder and writes it as one line of test output. Handlers
// made by WithAttrs and WithGroup share the sinks, which are safe for
// concurrent use.
type recordHandler struct {
	s    *sinks
	goas []groupOrAttrs
}

type sinks struct {
	level    slog.Leveler
	prefix   string       // line prefix for records without a service attribute
	out      *testOutput  // nil: no output
	rec      *LogRecorder // nil: not recorded
	barriers *barriers    // nil: no barrier records expected
}

// groupOrAttrs is one WithGroup or WithAttrs call.
type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.s.level.Level()
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	as = normalize(as)
	if len(as) == 0 {
		return h
	}
	return h.with(groupOrAttrs{attrs: as})
}

func (h *recordHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(groupOrAttrs{group: name})
}

func (h *recordHandler) with(g groupOrAttrs) *recordHandler {
	goas := make([]groupOrAttrs, len(h.goas), len(h.goas)+1)
	copy(goas, h.goas)
	return &recordHandler{s: h.s, goas: append(goas, g)}
}

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	if h.s.barriers != nil && h.s.barriers.pass(r) {
		return nil
	}
	full := h.fold(r)
	// Output first: once a LogRecorder waiter sees the record, its line
	// is in the test's output.
	if h.s.out != nil {
		h.s.out.writeLine(formatLine(full, h.s.prefix))
	}
	if h.s.rec != nil {
		h.s.rec.add(full)
	}
	return nil
}

// fold returns r with the handler's attributes and groups applied, as a
// record of its own.
func (h *recordHandler) fold(r slog.Record) slog.Record {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	attrs = normalize(attrs)
	for i := len(h.goas) - 1; i >= 0; i-- {
		g := h.goas[i]
		switch {
		case g.group == "":
			attrs = append(append(make([]slog.Attr, 0, len(g.attrs)+len(attrs)), g.attrs...), attrs...)
		case len(attrs) > 0:
			attrs = []slog.Attr{{Key: g.group, Value: slog.GroupValue(attrs...)}}
		}
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(attrs...)
	return nr
}

// normalize resolves values, drops empty attributes and empty groups and
// inlines groups without a key, as the slog handler rules ask.
func normalize(as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		a.Value = a.Value.Resolve()
		if a.Value.Kind() == slog.KindGroup {
			g := normalize(a.Value.Group())
			if len(g) == 0 {
				continue
			}
			if a.Key == "" {
				out = append(out, g...)
				continue
			}
			a.Value = slog.GroupValue(g...)
		}
		if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

// formatLine renders a record as one line of test output:
//
//	NAME LEVEL message key=value ... pid=PID
//
// NAME is the service attribute (or prefix when there is none). Attributes
// are in slog's text form; a top-level string attribute that spans lines
// (a panic's trace) follows the line as an indented block.
func formatLine(r slog.Record, prefix string) string {
	name, dropped := prefix, false
	var blocks []slog.Attr
	rest := slog.NewRecord(time.Time{}, r.Level, "", 0)
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case !dropped && a.Key == serviceKey && a.Value.Kind() == slog.KindString:
			name, dropped = a.Value.String(), true
		case a.Value.Kind() == slog.KindString && strings.Contains(a.Value.String(), "\n"):
			blocks = append(blocks, a)
		default:
			rest.AddAttrs(a)
		}
		return true
	})
	var b strings.Builder
	if name != "" {
		b.WriteString(name)
		b.WriteByte(' ')
	}
	b.WriteString(r.Level.String())
	b.WriteByte(' ')
	b.WriteString(r.Message)
	if rest.NumAttrs() > 0 {
		var buf bytes.Buffer
		_ = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.Level(-1 << 20)}).Handle(context.Background(), rest)
		// The text handler writes level=L msg="" first: keep what follows.
		text := strings.TrimSuffix(buf.String(), "\n")
		text = strings.TrimPrefix(text, "level="+r.Level.String()+` msg=""`)
		b.WriteString(text)
	}
	for _, a := range blocks {
		b.WriteString("\n  ")
		b.WriteString(a.Key)
		b.WriteByte(':')
		for line := range strings.Lines(strings.TrimRight(a.Value.String(), "\n")) {
			b.WriteString("\n    ")
			b.WriteString(strings.TrimSuffix(line, "\n"))
		}
	}
	return b.String()
}
