package bgkittest

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogRecorder holds the records a child spawned by [Spawn] has logged:
// its slog records, its stdout and stderr lines and spawn's reports about
// it, each with the service and pid attributes. Get it with [Child.Logs]. It is
// safe for concurrent use and keeps every record for the test's duration.
type LogRecorder struct {
	mu      sync.Mutex
	name    string
	records []slog.Record
	changed chan struct{} // closed and replaced when a record arrives
	// seen, when set, runs before a record goes to the test (Records,
	// Wait): Spawn's output writes the lines still settling, so that
	// the record's line is in the test's output when the test sees it.
	seen func()
}

func newLogRecorder() *LogRecorder {
	return &LogRecorder{changed: make(chan struct{})}
}

func (r *LogRecorder) add(rec slog.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *LogRecorder) setName(name string) {
	r.mu.Lock()
	r.name = name
	r.mu.Unlock()
}

// Records returns a copy of the records so far, oldest first.
func (r *LogRecorder) Records() []slog.Record {
	if r.seen != nil {
		r.seen()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]slog.Record, len(r.records))
	for i, rec := range r.records {
		out[i] = rec.Clone()
	}
	return out
}

// Wait returns the first record, already logged or still to come, for
// which match reports true. It waits until such a record arrives or ctx
// ends; then the error wraps ctx.Err().
func (r *LogRecorder) Wait(ctx context.Context, match func(slog.Record) bool) (slog.Record, error) {
	next := 0
	for {
		r.mu.Lock()
		recs, changed := r.records[next:], r.changed
		next = len(r.records)
		r.mu.Unlock()
		for _, rec := range recs {
			if match(rec) {
				if r.seen != nil {
					r.seen()
				}
				return rec.Clone(), nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			r.mu.Lock()
			n, name := len(r.records), r.name
			r.mu.Unlock()
			return slog.Record{}, fmt.Errorf("bgkittest: wait for a log record of %s: none of %d matched: %w", name, n, ctx.Err())
		}
	}
}

// WaitFor is Wait with a timeout that fails the test (t.Fatal) when no
// record matches in time.
func (r *LogRecorder) WaitFor(t testing.TB, match func(slog.Record) bool, timeout time.Duration) slog.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rec, err := r.Wait(ctx, match)
	if err != nil {
		t.Fatalf("%v (waited %v)", err, timeout)
	}
	return rec
}

// Message matches records whose message is msg.
func Message(msg string) func(slog.Record) bool {
	return func(r slog.Record) bool { return r.Message == msg }
}

// MessageContains matches records whose message contains substr.
func MessageContains(substr string) func(slog.Record) bool {
	return func(r slog.Record) bool { return strings.Contains(r.Message, substr) }
}

// Level matches records of exactly level l.
func Level(l slog.Level) func(slog.Record) bool {
	return func(r slog.Record) bool { return r.Level == l }
}

// Attr matches records with an attribute key equal to value. A key with
// dots names an attribute inside groups ("req.method"). Records come back
// from the child as JSON, so compare with the decoded form: strings,
// bools, numbers (any integer or float type compares by value) and
// []any / map-like groups; a time is a string in RFC 3339 form. A
// time.Duration travels as its text ("5s") and compares by value with a
// time.Duration.
func Attr(key string, value any) func(slog.Record) bool {
	want := slog.AnyValue(value)
	if v, ok := value.(slog.Value); ok {
		want = v
	}
	return func(r slog.Record) bool {
		var attrs []slog.Attr
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a)
			return true
		})
		got, ok := lookup(attrs, key)
		return ok && equalValues(got, want)
	}
}

// All matches records that every one of ms matches.
func All(ms ...func(slog.Record) bool) func(slog.Record) bool {
	return func(r slog.Record) bool {
		for _, m := range ms {
			if !m(r) {
				return false
			}
		}
		return true
	}
}

func lookup(attrs []slog.Attr, key string) (slog.Value, bool) {
	for _, a := range attrs {
		v := a.Value.Resolve()
		if a.Key == key {
			return v, true
		}
		if v.Kind() == slog.KindGroup {
			if rest, ok := strings.CutPrefix(key, a.Key+"."); ok {
				if got, ok := lookup(v.Group(), rest); ok {
					return got, true
				}
			}
		}
	}
	return slog.Value{}, false
}

func equalValues(a, b slog.Value) bool {
	a, b = a.Resolve(), b.Resolve()
	// A duration travels as its text ("5s"): compare durations by value.
	if a.Kind() == slog.KindDuration || b.Kind() == slog.KindDuration {
		da, okA := duration(a)
		db, okB := duration(b)
		return okA && okB && da == db
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		if a.Kind() == b.Kind() {
			return a.Equal(b)
		}
		return ok && x == y
	}
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case slog.KindAny:
		return reflect.DeepEqual(a.Any(), b.Any())
	case slog.KindGroup:
		ga, gb := a.Group(), b.Group()
		if len(ga) != len(gb) {
			return false
		}
		for i := range ga {
			if ga[i].Key != gb[i].Key || !equalValues(ga[i].Value, gb[i].Value) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

func number(v slog.Value) (float64, bool) {
	switch v.Kind() {
	case slog.KindInt64:
		return float64(v.Int64()), true
	case slog.KindUint64:
		return float64(v.Uint64()), true
	case slog.KindFloat64:
		return v.Float64(), true
	case slog.KindDuration:
		return float64(v.Duration()), true
	}
	return 0, false
}

// duration is v as a duration: a duration, or a string in Go's form.
func duration(v slog.Value) (time.Duration, bool) {
	switch v.Kind() {
	case slog.KindDuration:
		return v.Duration(), true
	case slog.KindString:
		d, err := time.ParseDuration(v.String())
		return d, err == nil
	}
	return 0, false
}
