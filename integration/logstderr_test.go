package integration

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/spawn"
)

// TestLogStderrJSONWhileBusDown (finding 8): when its bus connection is
// gone, a child writes its records to stderr as JSON, and the parent
// turns each line back into the record it was — its level, message and
// attributes, with the service's — not a stderr line wrapping a formatted
// record.
func TestLogStderrJSONWhileBusDown(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	rec := newRecorder()
	h, err := spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1},
		spawn.WithLogger(slog.New(rec)), spawn.WithName("LOGSTDERR"))
	if err != nil {
		t.Fatal(err)
	}
	// The server drops the child's user and its connection: the child
	// says so and stops, with no bus to log to.
	b.Revoke("LOGSTDERR")
	r := rec.wait(t, 10*time.Second, func(r slog.Record) bool { return strings.HasPrefix(r.Message, "stopping: ") })
	if r.Level != slog.LevelWarn || attrs(r)["service"].String() != "LOGSTDERR" || attrs(r)["stream"].Kind() != slog.KindAny {
		t.Errorf("record %v %q %v: want WARN with the service's attributes and no stream", r.Level, r.Message, attrs(r))
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not stop")
	}
	for _, r := range rec.all() {
		if m := r.Message; strings.HasPrefix(m, "{") || strings.Contains(m, "level=") {
			t.Errorf("a record relayed as text: %v %q %v", r.Level, m, attrs(r))
		}
	}
}
