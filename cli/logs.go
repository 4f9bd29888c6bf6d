package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
)

const logsExamples = `  bgkit logs                        # every service: the last 10 records of each, then what follows
  bgkit logs TESTER_PRESENT_SERVICE
  bgkit logs -n 0 ECU_SIM_SERVICE   # only what follows
  bgkit logs --since 5m             # what the last five minutes brought, then what follows
  bgkit logs --log-level debug ECU_SIM_SERVICE
`

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("logs", "[NAME] [flags]", logsExamples, stdout)
	n := fs.Int("n", 10, "show the last `N` records of each service first (kept by bgkit up or run on the bus); 0 none")
	sinceFlag := fs.Duration("since", 0, "show the records of the last `DURATION` first (all of them, unless -n is given too)")
	var bf busFlags
	bf.register(fs)
	var lf logFlags
	lf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("logs takes at most one service NAME")
	}
	var name string
	if len(pos) == 1 {
		name = pos[0]
	}
	subject := bus.LogPrefix + ">"
	if name != "" {
		if err := bus.ValidateName(name); err != nil {
			return usagef("logs: %v", err)
		}
		subject = bus.LogSubject(name)
	}
	if *n < 0 || *sinceFlag < 0 {
		return usagef("logs: -n and --since must not be negative")
	}
	req := recentRequest{Service: name, N: *n}
	if *sinceFlag > 0 {
		req.Since = sinceFlag.String()
		nSet := false
		fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
		if !nSet {
			req.N = -1
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
	// Follow first, then fetch what came before: a record published in
	// between is both live and recent, and printed once.
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(followBuffer, followBufferBytes) // past them: dropped, and said
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if followingForTest != nil {
		followingForTest(func() int { return droppedCount([]*nats.Subscription{sub}) })
	}
	h := logger.Handler()
	var shown map[string]bool
	pending := 0
	if req.N != 0 {
		if shown, err = showRecent(ctx, nc, req, h); err != nil {
			return err
		}
		// The server sent this connection a live record before the ring
		// that answered could have seen it, so a live copy of a record just
		// shown is among those already queued now; later ones are new (a
		// restarted service numbers its records from 1 again).
		pending, _, _ = sub.Pending()
	}
	dropped := 0
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if n, _ := sub.Dropped(); n > dropped {
			droppedNote(ctx, h, "logs", n-dropped)
			dropped = n
		}
		if errors.Is(err, nats.ErrSlowConsumer) {
			continue // the client library's word for the drop just told
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if pending > 0 {
			pending--
			if k := recordKey(m.Subject, m.Header); k != "" && shown[k] {
				continue
			}
		}
		emitLog(ctx, h, m.Subject, m)
	}
}

// recentWait is how long logs waits for the first answer of a ring, and
// recentQuiet how long for more rings after one has answered.
const (
	recentWait  = 2 * time.Second
	recentQuiet = 100 * time.Millisecond
)

// showRecent asks the rings on the bus for the records req names, prints
// them and returns the keys of those it printed (see recordKey). A bus
// with no ring (no bgkit up or run on it) answers at once that nobody
// listens; then it returns nothing.
func showRecent(ctx context.Context, nc *nats.Conn, req recentRequest, h slog.Handler) (map[string]bool, error) {
	inbox := bus.NewInbox(nc)
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	defer replies.Unsubscribe()
	_ = replies.SetPendingLimits(-1, -1)
	data, _ := json.Marshal(req)
	if err := nc.PublishRequest(recentLogsSubject, inbox, data); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	shown := map[string]bool{}
	wait := recentWait
	for {
		wctx, cancel := context.WithTimeout(ctx, wait)
		m, err := replies.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return shown, nil // every ring has answered
		}
		switch {
		case m.Header.Get("Status") == "503": // no responders
			return shown, nil
		case m.Header.Get(recentEndHeader) != "":
			wait = recentQuiet
		default:
			subject := m.Header.Get(recentSubjectHeader)
			if !strings.HasPrefix(subject, bus.LogPrefix) {
				continue
			}
			// Two rings on one bus (an up and a run) hold the same records.
			if k := recordKey(subject, m.Header); k != "" {
				if shown[k] {
					continue
				}
				shown[k] = true
			}
			emitLog(ctx, h, subject, m)
		}
	}
}

// recordKey names a record by its subject and sequence number, "" when it
// has none.
func recordKey(subject string, h nats.Header) string {
	if h == nil || h.Get(logfwd.SeqHeader) == "" {
		return ""
	}
	return subject + "#" + h.Get(logfwd.SeqHeader)
}

// emitLog writes one record of subject log.<NAME> with service=<NAME> added.
func emitLog(ctx context.Context, h slog.Handler, subject string, m *nats.Msg) {
	if m.Header != nil && m.Header.Get(logfwd.EOFHeader) != "" {
		return
	}
	svc := strings.TrimPrefix(subject, bus.LogPrefix)
	rec, err := logfwd.DecodeRecord(m.Data)
	if err != nil {
		rec = slog.NewRecord(rec.Time, slog.LevelWarn, "undecodable log record", 0)
		rec.AddAttrs(slog.String("raw", string(m.Data)))
	}
	if h.Enabled(ctx, rec.Level) {
		_ = h.WithAttrs([]slog.Attr{slog.String("service", svc)}).Handle(ctx, rec)
	}
}
