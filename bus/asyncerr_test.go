package bus

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

type recordList struct{ recs []slog.Record }

func (h *recordList) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordList) Handle(_ context.Context, r slog.Record) error {
	h.recs = append(h.recs, r)
	return nil
}
func (h *recordList) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordList) WithGroup(string) slog.Handler      { return h }

// A storm of one asynchronous error is logged once a second, with the
// number left out; another kind has its own pace.
func TestAsyncErrorsPaced(t *testing.T) {
	logs := &recordList{}
	at := time.Unix(1000, 0)
	a := &asyncErrors{l: slog.New(logs), kinds: map[string]*errKind{}, now: func() time.Time { return at }}
	for range 1000 {
		a.handle(nil, nil, nats.ErrSlowConsumer)
	}
	a.handle(nil, nil, errors.New("nats: permissions violation"))
	if len(logs.recs) != 2 {
		t.Fatalf("%d records for 1000 slow consumers and one violation, want 2", len(logs.recs))
	}
	at = at.Add(time.Second)
	a.handle(nil, nil, nats.ErrSlowConsumer)
	if len(logs.recs) != 3 {
		t.Fatalf("%d records a second later, want 3", len(logs.recs))
	}
	var left int64
	logs.recs[2].Attrs(func(at slog.Attr) bool {
		if at.Key == "not_logged_since_last" {
			left = at.Value.Int64()
		}
		return true
	})
	if left != 999 {
		t.Errorf("the record a second later counts %d left out, want 999", left)
	}
}
