package logfwd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Relay re-emits the records published on one subject into a handler.
// Create it with NewRelay; stop it with Close.
type Relay struct {
	sub     *nats.Subscription
	h       slog.Handler
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	eof     chan struct{}
	eofOnce sync.Once

	count   atomic.Int64
	bad     atomic.Int64
	dropped atomic.Int64
	lost    atomic.Int64
	dups    atomic.Int64

	// Ordering by sequence number; used by run's goroutine only.
	next      uint64
	held      map[uint64]*nats.Msg
	heldSince time.Time
}

// NewRelay subscribes to subject and hands each record to h, with attrs
// added (for example service and pid). The subscription is registered with
// the server when NewRelay returns.
func NewRelay(nc *nats.Conn, subject string, h slog.Handler, attrs ...slog.Attr) (*Relay, error) {
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return nil, fmt.Errorf("logfwd: relay %s: %w", subject, err)
	}
	// Queue without bound in this process rather than let the server see a
	// slow consumer and cut the connection.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("logfwd: relay %s: %w", subject, err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("logfwd: relay %s: %w", subject, err)
	}
	if len(attrs) > 0 {
		h = h.WithAttrs(attrs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{sub: sub, h: h, cancel: cancel, eof: make(chan struct{}), next: 1, held: map[uint64]*nats.Msg{}}
	r.wg.Add(1)
	go r.run(ctx)
	return r, nil
}

// gapWait is how long the relay holds records that came after a gap for
// the missing ones (a publisher resends after a reconnect) before it
// reports them lost; maxHeld bounds how many it holds meanwhile.
const (
	gapWait = 3 * time.Second
	maxHeld = 1 << 17
)

func (r *Relay) run(ctx context.Context) {
	defer r.wg.Done()
	for {
		wait := ctx
		var cancel context.CancelFunc = func() {}
		if len(r.held) > 0 {
			wait, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
		}
		m, err := r.sub.NextMsgWithContext(wait)
		cancel()
		switch {
		case err == nil:
			r.order(ctx, m)
		case ctx.Err() != nil:
			return
		case !errors.Is(err, context.DeadlineExceeded):
			return
		}
		if len(r.held) > 0 && (time.Since(r.heldSince) > gapWait || len(r.held) > maxHeld) {
			r.skipGap(ctx)
		}
	}
}

// order delivers messages in their publisher's sequence: duplicates (a
// resend) are dropped, messages after a gap are held until the gap fills.
// Messages without a sequence number are delivered as they come.
func (r *Relay) order(ctx context.Context, m *nats.Msg) {
	seq, err := strconv.ParseUint(m.Header.Get(SeqHeader), 10, 64)
	if err != nil || seq == 0 {
		r.deliver(ctx, m)
		return
	}
	switch {
	case seq < r.next:
		r.dups.Add(1)
		return
	case seq > r.next:
		if _, dup := r.held[seq]; dup {
			r.dups.Add(1)
			return
		}
		if len(r.held) == 0 {
			r.heldSince = time.Now()
		}
		r.held[seq] = m
		return
	}
	r.deliver(ctx, m)
	r.next++
	r.drainHeld(ctx)
}

func (r *Relay) drainHeld(ctx context.Context) {
	for {
		m, ok := r.held[r.next]
		if !ok {
			break
		}
		delete(r.held, r.next)
		r.deliver(ctx, m)
		r.next++
	}
	if len(r.held) > 0 {
		r.heldSince = time.Now()
	}
}

// skipGap gives up on the missing messages before the first held one and
// says how many were lost.
func (r *Relay) skipGap(ctx context.Context) {
	first := uint64(0)
	for seq := range r.held {
		if first == 0 || seq < first {
			first = seq
		}
	}
	lost := int64(first - r.next)
	r.lost.Add(lost)
	r.emit(ctx, warnRecord("log records lost in transit", slog.Int64("lost", lost)))
	r.next = first
	r.drainHeld(ctx)
}

func (r *Relay) deliver(ctx context.Context, m *nats.Msg) {
	if m.Header != nil && m.Header.Get(EOFHeader) != "" {
		if d, err := strconv.ParseInt(m.Header.Get(DroppedHeader), 10, 64); err == nil && d > 0 {
			r.dropped.Add(d)
			r.emit(ctx, warnRecord("records dropped by the service's log handler", slog.Int64("dropped", d)))
		}
		r.eofOnce.Do(func() { close(r.eof) })
		return
	}
	rec, err := DecodeRecord(m.Data)
	if err != nil {
		r.bad.Add(1)
		rec = warnRecord("undecodable log record", slog.String("raw", string(m.Data)), slog.String("err", err.Error()))
	}
	r.count.Add(1)
	r.emit(ctx, rec)
}

func (r *Relay) emit(ctx context.Context, rec slog.Record) {
	if r.h.Enabled(ctx, rec.Level) {
		_ = r.h.Handle(ctx, rec)
	}
}

// Emit hands a record of the relay's own (a stderr line, an exit report) to
// the handler with the relay's attributes.
func (r *Relay) Emit(ctx context.Context, rec slog.Record) { r.emit(ctx, rec) }

func warnRecord(msg string, attrs ...slog.Attr) slog.Record {
	rec := slog.NewRecord(time.Now(), slog.LevelWarn, msg, 0)
	rec.AddAttrs(attrs...)
	return rec
}

// EOF is closed when the end-of-log marker has been relayed: every record
// published before it has been handed to the handler.
func (r *Relay) EOF() <-chan struct{} { return r.eof }

// WaitEOF waits for the end-of-log marker or ctx.
func (r *Relay) WaitEOF(ctx context.Context) error {
	select {
	case <-r.eof:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("logfwd: wait for end of log: %w", ctx.Err())
	}
}

// Count is the number of records relayed so far.
func (r *Relay) Count() int64 { return r.count.Load() }

// Bad is the number of messages that were not valid records.
func (r *Relay) Bad() int64 { return r.bad.Load() }

// Dropped is the number of records the publisher reported it dropped.
func (r *Relay) Dropped() int64 { return r.dropped.Load() }

// Lost is the number of records that never arrived (a gap in the
// publisher's sequence that no resend filled).
func (r *Relay) Lost() int64 { return r.lost.Load() }

// Duplicates is the number of messages dropped as already relayed.
func (r *Relay) Duplicates() int64 { return r.dups.Load() }

// Close unsubscribes and waits for the relay's goroutine. Records still
// queued are discarded; call WaitEOF first to keep them. It is idempotent.
func (r *Relay) Close() error {
	r.cancel()
	r.wg.Wait()
	err := r.sub.Unsubscribe()
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
		err = nil
	}
	return err
}
