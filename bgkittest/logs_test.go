package bgkittest

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func record(msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

func TestLogRecorderWait(t *testing.T) {
	tests := []struct {
		name    string
		before  []string // messages recorded before Wait
		after   []string // messages recorded while Wait waits
		want    string
		wantErr error
	}{
		{name: "already recorded", before: []string{"a", "b"}, want: "b"},
		{name: "first match wins", before: []string{"b", "b"}, want: "b"},
		{name: "recorded later", before: []string{"a"}, after: []string{"a", "c", "b"}, want: "b"},
		{name: "never", before: []string{"a"}, after: []string{"c"}, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLogRecorder()
			for _, m := range tt.before {
				r.add(record(m))
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for _, m := range tt.after {
					r.add(record(m))
				}
			}()
			defer func() { <-done }()
			timeout := 10 * time.Second
			if tt.wantErr != nil {
				timeout = 50 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			got, err := r.Wait(ctx, Message(tt.want))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Wait error %v, want %v", err, tt.wantErr)
			}
			if err == nil && got.Message != tt.want {
				t.Errorf("Wait = %q, want %q", got.Message, tt.want)
			}
		})
	}
}

func TestLogRecorderRecordsAreCopies(t *testing.T) {
	r := newLogRecorder()
	r.add(record("a", slog.Int("n", 1)))
	recs := r.Records()
	recs[0].AddAttrs(slog.Int("m", 2))
	if n := r.Records()[0].NumAttrs(); n != 1 {
		t.Errorf("the recorded record has %d attributes after a caller added one, want 1", n)
	}
}

type lazy struct{}

func (lazy) LogValue() slog.Value { return slog.StringValue("resolved") }

func TestMatchers(t *testing.T) {
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "link down", 0)
	r.AddAttrs(
		slog.String("service", "S"),
		slog.Int64("pid", 42),
		slog.Float64("ratio", 0.5),
		slog.Bool("up", false),
		slog.Any("ids", []any{"a", float64(1)}),
		slog.Any("lazy", lazy{}),
		slog.Group("req", slog.String("method", "read_did"), slog.Group("inner", slog.Int("n", 3))),
		slog.String("dotted.key", "x"),
		slog.String("s3", "5s"), // a duration, as it travels
	)
	tests := []struct {
		name  string
		match func(slog.Record) bool
		want  bool
	}{
		{name: "message", match: Message("link down"), want: true},
		{name: "other message", match: Message("link"), want: false},
		{name: "message contains", match: MessageContains("down"), want: true},
		{name: "level", match: Level(slog.LevelWarn), want: true},
		{name: "other level", match: Level(slog.LevelError), want: false},
		{name: "string", match: Attr("service", "S"), want: true},
		{name: "string differs", match: Attr("service", "T"), want: false},
		{name: "int against int64", match: Attr("pid", 42), want: true},
		{name: "uint against int64", match: Attr("pid", uint16(42)), want: true},
		{name: "float against int64", match: Attr("pid", 42.0), want: true},
		{name: "int differs", match: Attr("pid", 43), want: false},
		{name: "string against int", match: Attr("pid", "42"), want: false},
		{name: "float", match: Attr("ratio", 0.5), want: true},
		{name: "bool", match: Attr("up", false), want: true},
		{name: "array", match: Attr("ids", []any{"a", float64(1)}), want: true},
		{name: "array differs", match: Attr("ids", []any{"a"}), want: false},
		{name: "log valuer", match: Attr("lazy", "resolved"), want: true},
		{name: "slog value", match: Attr("up", slog.BoolValue(false)), want: true},
		{name: "group path", match: Attr("req.method", "read_did"), want: true},
		{name: "nested group path", match: Attr("req.inner.n", 3), want: true},
		{name: "key with a dot", match: Attr("dotted.key", "x"), want: true},
		{name: "missing key", match: Attr("nope", "x"), want: false},
		{name: "group as a value", match: Attr("req.inner", slog.GroupValue(slog.Int("n", 3))), want: true},
		{name: "duration against its text", match: Attr("s3", 5*time.Second), want: true},
		{name: "duration differs", match: Attr("s3", 4*time.Second), want: false},
		{name: "duration against a string", match: Attr("service", time.Second), want: false},
		{name: "all", match: All(Message("link down"), Attr("up", false)), want: true},
		{name: "all, one fails", match: All(Message("link down"), Attr("up", true)), want: false},
		{name: "all of none", match: All(), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.match(r); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}
