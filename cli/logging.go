package cli

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
)

// newLogger logs to w: coloured by tint when w is a terminal and color is
// allowed, plain text (logfmt) otherwise. Both print durations as "5s" and
// leave out empty attributes (see [tidyAttr]).
func newLogger(w io.Writer, level slog.Level, color bool) *slog.Logger {
	if color && isTerminal(w) {
		return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: "15:04:05.000", ReplaceAttr: tidyAttr}))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: tidyAttr}))
}

// tidyAttr is the ReplaceAttr of the CLI's handlers. It drops attributes
// that say nothing — an empty string, a nil value (err=<nil>) — so that a
// line holds what is known, and writes a duration in Go's form ("5s",
// "1.5ms"), not as nanoseconds. The record's own time, level and message
// are left alone.
func tidyAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey:
			return a
		}
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if v.String() == "" {
			return slog.Attr{}
		}
	case slog.KindAny:
		if v.Any() == nil {
			return slog.Attr{}
		}
	case slog.KindDuration:
		return slog.String(a.Key, v.Duration().String())
	}
	return a
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// since formats an uptime.
func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String()
}
