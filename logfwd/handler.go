package logfwd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// EOFHeader marks the end-of-log message a Handler publishes on Close.
const EOFHeader = "Bgkit-Log-Eof"

// DroppedHeader, on the end-of-log message, counts the records that could
// not be published.
const DroppedHeader = "Bgkit-Log-Dropped"

// Handler is the child-side slog.Handler. Create it with NewHandler.
type Handler struct {
	inner slog.Handler // a JSONHandler writing to pub
	pub   *publisher
}

// publisher is the io.Writer under the JSON handler: every Write is one
// record (slog's JSON handler writes a record with a single Write call, under
// its own mutex).
type publisher struct {
	nc       *nats.Conn
	subject  string
	fallback *os.File // where records go when publishing fails
	dropped  atomic.Int64
	reported atomic.Int64 // drops already reported in-band
	closed   atomic.Bool
}

// Write publishes one record. A record that cannot be published — the
// connection is closed, or its reconnect buffer is full — is counted as
// dropped and written to the fallback (stderr, which a bgkit parent
// relays). Once publishing works again, a WARN record saying how many were
// dropped goes first, so the reader is told.
func (p *publisher) Write(b []byte) (int, error) {
	n := len(b)
	if p.closed.Load() {
		p.fallbackWrite(b)
		return n, nil
	}
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	if d, r := p.dropped.Load(), p.reported.Load(); d > r {
		note := fmt.Appendf(nil, `{"time":%q,"level":"WARN","msg":"log records dropped","dropped":%d}`,
			time.Now().Format(time.RFC3339Nano), d-r)
		if p.nc.Publish(p.subject, note) == nil {
			p.reported.Store(d)
		}
	}
	if err := p.nc.Publish(p.subject, b); err != nil {
		p.dropped.Add(1)
		p.fallbackWrite(append(b, '\n'))
	}
	return n, nil
}

func (p *publisher) fallbackWrite(b []byte) {
	if p.fallback != nil {
		_, _ = p.fallback.Write(b)
	}
}

// NewHandler returns a handler that publishes records on subject. opts are
// those of slog.NewJSONHandler (level, source, ReplaceAttr); nil means INFO.
// Records that cannot be published (connection closed) are written to
// stderr instead, where a bgkit parent still relays them.
func NewHandler(nc *nats.Conn, subject string, opts *slog.HandlerOptions) *Handler {
	p := &publisher{nc: nc, subject: subject, fallback: os.Stderr}
	return &Handler{inner: slog.NewJSONHandler(p, opts), pub: p}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error { return h.inner.Handle(ctx, r) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(as), pub: h.pub}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), pub: h.pub}
}

// Dropped counts the records that could not be published.
func (h *Handler) Dropped() int64 { return h.pub.dropped.Load() }

// Close publishes the end-of-log marker and flushes the connection. Records
// handled after Close go to stderr. It is idempotent.
func (h *Handler) Close(ctx context.Context) error {
	if h.pub.closed.Swap(true) {
		return nil
	}
	m := nats.NewMsg(h.pub.subject)
	m.Header.Set(EOFHeader, "1")
	if d := h.pub.dropped.Load() - h.pub.reported.Load(); d > 0 {
		m.Header.Set(DroppedHeader, fmt.Sprint(d)) // not yet reported in-band
	}
	if err := h.pub.nc.PublishMsg(m); err != nil {
		return fmt.Errorf("logfwd: close: %w", err)
	}
	var err error
	if _, ok := ctx.Deadline(); ok {
		err = h.pub.nc.FlushWithContext(ctx)
	} else {
		err = h.pub.nc.FlushTimeout(5 * time.Second)
	}
	if err != nil {
		return fmt.Errorf("logfwd: close: %w", err)
	}
	return nil
}
