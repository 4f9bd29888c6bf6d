package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
)

const logsExamples = `  bgkit logs                        # every service
  bgkit logs TESTER_PRESENT_SERVICE
  bgkit logs --log-level debug ECU_SIM_SERVICE
`

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("logs", "[NAME] [flags]", logsExamples, stderr)
	var bf busFlags
	bf.register(fs)
	var lf logFlags
	lf.register(fs)
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	subject := bus.LogPrefix + ">"
	if name != "" {
		if err := bus.ValidateName(name); err != nil {
			return usagef("logs: %v", err)
		}
		subject = bus.LogSubject(name)
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
	sub, err := b.Conn().SubscribeSync(subject)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	h := logger.Handler()
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		emitLog(ctx, h, m)
	}
}

// emitLog writes one record from log.<NAME> with service=<NAME> added.
func emitLog(ctx context.Context, h slog.Handler, m *nats.Msg) {
	if m.Header != nil && m.Header.Get(logfwd.EOFHeader) != "" {
		return
	}
	svc := strings.TrimPrefix(m.Subject, bus.LogPrefix)
	rec, err := logfwd.DecodeRecord(m.Data)
	if err != nil {
		rec = slog.NewRecord(rec.Time, slog.LevelWarn, "undecodable log record", 0)
		rec.AddAttrs(slog.String("raw", string(m.Data)))
	}
	if h.Enabled(ctx, rec.Level) {
		_ = h.WithAttrs([]slog.Attr{slog.String("service", svc)}).Handle(ctx, rec)
	}
}
