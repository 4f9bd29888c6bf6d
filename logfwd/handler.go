package logfwd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
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

// SeqHeader numbers the messages of one publisher from 1, so that a relay
// can put them in order, drop duplicates and see gaps.
const SeqHeader = "Bgkit-Log-Seq"

// Resend window: the most recent records kept for Resend.
const (
	resendRecords = 1 << 16
	resendBytes   = 8 << 20
)

// publisher is the io.Writer under the JSON handler: every Write is one
// record (slog's JSON handler writes a record with a single Write call).
type publisher struct {
	nc       *nats.Conn
	subject  string
	fallback *os.File // where records go when publishing fails
	dropped  atomic.Int64
	reported atomic.Int64 // drops already reported in-band
	closed   atomic.Bool

	mu    sync.Mutex // orders seq, ring and publishing; guards what follows
	msg   nats.Msg
	hdr   nats.Header
	seq   uint64 // of the last message published
	ring  []sent // the last records published, oldest first (a queue)
	head  int    // index of the oldest in ring
	bytes int
}

type sent struct {
	seq  uint64
	data []byte
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, r := p.dropped.Load(), p.reported.Load(); d > r {
		note := fmt.Appendf(nil, `{"time":%q,"level":"WARN","msg":"log records dropped","dropped":%d}`,
			time.Now().Format(time.RFC3339Nano), d-r)
		if p.publish(note, nil) == nil {
			p.reported.Store(d)
		}
	}
	if err := p.publish(b, nil); err != nil {
		p.dropped.Add(1)
		p.fallbackWrite(append(b, '\n'))
	}
	return n, nil
}

// publish sends data with the next sequence number and keeps a copy for
// Resend; p.mu is held. A message that fails takes no number.
func (p *publisher) publish(data []byte, hdr nats.Header) error {
	// PublishMsg copies the message out before it returns, so one message
	// and header serve every record.
	record := hdr == nil // not the end marker
	if record {
		if p.hdr == nil {
			p.hdr = nats.Header{SeqHeader: make([]string, 1)}
		}
		hdr = p.hdr
	}
	hdr[SeqHeader] = append(hdr[SeqHeader][:0], strconv.FormatUint(p.seq+1, 10))
	p.msg = nats.Msg{Subject: p.subject, Data: data, Header: hdr}
	if err := p.nc.PublishMsg(&p.msg); err != nil {
		return err
	}
	p.seq++
	if record {
		p.keep(sent{seq: p.seq, data: append([]byte(nil), data...)})
	}
	return nil
}

func (p *publisher) keep(r sent) {
	p.ring = append(p.ring, r)
	p.bytes += len(r.data)
	for len(p.ring)-p.head > resendRecords || p.bytes > resendBytes {
		p.bytes -= len(p.ring[p.head].data)
		p.ring[p.head] = sent{}
		p.head++
	}
	if p.head > len(p.ring)/2 && p.head > 1024 { // compact
		p.ring = append(p.ring[:0], p.ring[p.head:]...)
		p.head = 0
	}
}

// resend publishes the kept records again, oldest first, with their own
// sequence numbers.
func (p *publisher) resend() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.ring[p.head:] {
		m := &nats.Msg{Subject: p.subject, Data: r.data, Header: nats.Header{SeqHeader: {strconv.FormatUint(r.seq, 10)}}}
		if err := p.nc.PublishMsg(m); err != nil {
			return i, err
		}
	}
	return len(p.ring) - p.head, nil
}

func (p *publisher) fallbackWrite(b []byte) {
	if p.fallback != nil {
		_, _ = p.fallback.Write(b)
	}
}

// NewHandler returns a handler that publishes records on subject. opts are
// those of slog.NewJSONHandler (level, source, ReplaceAttr); nil means INFO.
// A time.Duration attribute travels as its string ("5s"), not as
// nanoseconds, so that it reads as a duration wherever the record is shown
// (JSON has no duration type: a number would arrive as a plain integer).
// Records that cannot be published (connection closed) are written to
// stderr instead, where a bgkit parent still relays them.
func NewHandler(nc *nats.Conn, subject string, opts *slog.HandlerOptions) *Handler {
	p := &publisher{nc: nc, subject: subject, fallback: os.Stderr}
	o := slog.HandlerOptions{}
	if opts != nil {
		o = *opts
	}
	o.ReplaceAttr = durationsAsText(o.ReplaceAttr)
	return &Handler{inner: slog.NewJSONHandler(p, &o), pub: p}
}

// durationsAsText returns a ReplaceAttr that writes durations as text,
// then applies next (if any).
func durationsAsText(next func([]string, slog.Attr) slog.Attr) func([]string, slog.Attr) slog.Attr {
	return func(groups []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		if next != nil {
			return next(groups, a)
		}
		return a
	}
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

// Resend publishes the most recent records again (up to 65,536 records or
// 8 MiB) with their original sequence numbers. Call it when the connection
// has reconnected: what the old connection held in flight when its server
// died is lost otherwise. A Relay drops the duplicates.
func (h *Handler) Resend() (int, error) {
	n, err := h.pub.resend()
	if err != nil {
		return n, fmt.Errorf("logfwd: resend: %w", err)
	}
	return n, nil
}

// Close publishes the end-of-log marker and flushes the connection. Records
// handled after Close go to stderr. It is idempotent.
func (h *Handler) Close(ctx context.Context) error {
	if h.pub.closed.Swap(true) {
		return nil
	}
	hdr := nats.Header{EOFHeader: {"1"}}
	if d := h.pub.dropped.Load() - h.pub.reported.Load(); d > 0 {
		hdr.Set(DroppedHeader, fmt.Sprint(d)) // not yet reported in-band
	}
	h.pub.mu.Lock()
	perr := h.pub.publish(nil, hdr)
	h.pub.mu.Unlock()
	if perr != nil {
		return fmt.Errorf("logfwd: close: %w", perr)
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
