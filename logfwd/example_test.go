package logfwd_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/bgkit/bgkit/logfwd"
)

func ExampleDecodeRecord() {
	rec, err := logfwd.DecodeRecord([]byte(`{"time":"2026-11-25T10:00:00Z","level":"WARN","msg":"late","period_ms":2000,"ecu":{"id":"7E0"}}`))
	if err != nil {
		panic(err)
	}
	// Re-emit it with a text handler (no time, for a stable output).
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	_ = h.Handle(context.Background(), rec)
	fmt.Println(rec.Time.UTC().Format("15:04:05"))
	// Output:
	// level=WARN msg=late period_ms=2000 ecu.id=7E0
	// 10:00:00
}

func ExampleDecodeLine() {
	for _, line := range []string{
		`{"time":"2026-11-25T10:00:00Z","level":"WARN","msg":"bus disconnected","err":"EOF"}`,
		`plain stderr line`,
	} {
		if rec, ok := logfwd.DecodeLine([]byte(line)); ok {
			fmt.Println("record:", rec.Level, rec.Message)
		} else {
			fmt.Println("text:", line)
		}
	}
	// Output:
	// record: WARN bus disconnected
	// text: plain stderr line
}
