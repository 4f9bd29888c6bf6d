package logfwd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// Default bounds of a relay's queue: the records received and not yet
// handed to a slow handler. At about 300 bytes a record the default holds
// 16,384 records in about 8 MiB; the queue never holds more than
// QueueBytes of record data however large the records are. (In front of
// it, the client library's pending list for the relay's subscription is
// bounded to 4× these, at least 8,192 messages and 8 MiB; the relay's
// callback empties it at once unless it is starved of CPU.)
const (
	DefaultQueueRecords = 1 << 14
	DefaultQueueBytes   = 16 << 20
)

// RelayOptions configure a Relay. The zero value is the default.
type RelayOptions struct {
	// QueueRecords and QueueBytes bound the records received and not yet
	// handled (DefaultQueueRecords, DefaultQueueBytes when zero). A record
	// that finds the queue full is dropped; the handler gets a WARN record
	// saying how many were dropped, in its place.
	QueueRecords int
	QueueBytes   int
	// NoAck keeps the relay from pacing the publisher: a follower that
	// reads another relay's records (bgkit logs) sets it, so that only
	// the parent's relay sets the child's pace.
	NoAck bool
	// Inbox is the publisher's inbox, when known beforehand: its records'
	// reply subjects without the sequence number (NewHandlerInbox's
	// inbox). A relay learns it from the first record it receives
	// otherwise, and one whose connection reconnects before that, or
	// whose first records were lost, cannot ask for what it missed. A
	// bgkit parent sets its child's (bus.Credentials.LogInbox).
	Inbox string
}

// Relay re-emits the records published on one subject into a handler.
// Create it with NewRelay; stop it with Close.
//
// Records arrive on a subscription whose callback only puts them in
// their publisher's order and queues them; a goroutine of the relay hands
// them to the handler and acknowledges them to the publisher (see
// [AckEvery]), which waits for acknowledgements when it is too far ahead:
// a slow handler slows the child down instead of filling memory.
type Relay struct {
	id        []byte // in its acknowledgements
	nc        *nats.Conn
	sub       *nats.Subscription
	h         slog.Handler
	opts      RelayOptions
	qbytes    atomic.Int64
	unacked   int           // bytes handled since the last acknowledgement (the worker's)
	done      chan struct{} // closed by Close: the worker stops
	closing   atomic.Bool   // set by Close before done is closed
	wg        sync.WaitGroup
	eof       chan struct{}
	eofOnce   sync.Once
	closeOnce sync.Once

	count   atomic.Int64
	bad     atomic.Int64
	dropped atomic.Int64
	lost    atomic.Int64
	dups    atomic.Int64

	// The queue: filled by the subscription's callback (under mu), taken
	// whole by run's goroutine, so that a burst costs one hand-off per
	// batch rather than a channel operation per record.
	qmu   sync.Mutex
	q     []queued      // under qmu
	qlen  atomic.Int64  // queued and not yet handled (in q or taken by run)
	ready chan struct{} // one token: q has records again

	// Ordering by sequence number, under mu: the subscription's callback
	// and the gap timer.
	mu          sync.Mutex
	closed      bool
	next        uint64
	held        map[uint64]*nats.Msg
	heldBytes   int // of the messages in held
	heldSince   time.Time
	gapTimer    *time.Timer
	pendingDrop int64     // dropped since the last record queued
	pendingLost int64     // lost in transit, to report with the next record
	inbox       string    // the publisher's, from its records' reply subjects or RelayOptions.Inbox
	joined      bool      // the publisher was told where this relay stands
	lastAsk     time.Time // of the last resend request

	// Used by run's goroutine only.
	reconnects  uint64    // of nc, when last looked
	askUntil    time.Time // ask for resends until then (after a reconnect or drops)
	natsDropped int       // of sub, when last looked
}

// queued is one entry of the relay's queue: a message (nil for a report
// alone) and the drops and losses to report before it.
type queued struct {
	m       *nats.Msg
	seq     uint64
	dropped int64
	lost    int64
}

// NewRelay subscribes to subject and hands each record to h, with attrs
// added (for example service and pid), with the default options. The
// subscription is registered with the server when NewRelay returns.
func NewRelay(nc *nats.Conn, subject string, h slog.Handler, attrs ...slog.Attr) (*Relay, error) {
	return NewRelayWith(nc, subject, h, RelayOptions{}, attrs...)
}

// NewRelayWith is NewRelay with options.
func NewRelayWith(nc *nats.Conn, subject string, h slog.Handler, opts RelayOptions, attrs ...slog.Attr) (*Relay, error) {
	if opts.QueueRecords <= 0 {
		opts.QueueRecords = DefaultQueueRecords
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	if opts.Inbox != "" && !isPublisherInbox(opts.Inbox) {
		return nil, fmt.Errorf("logfwd: relay %s: publisher's inbox %q is no inbox subject", subject, opts.Inbox)
	}
	if len(attrs) > 0 {
		h = h.WithAttrs(attrs)
	}
	r := &Relay{inbox: opts.Inbox, id: []byte(nuid.Next()), nc: nc, h: h, opts: opts, ready: make(chan struct{}, 1),
		done: make(chan struct{}), eof: make(chan struct{}), next: 1, held: map[uint64]*nats.Msg{}}
	sub, err := nc.Subscribe(subject, r.onMsg)
	if err != nil {
		return nil, fmt.Errorf("logfwd: relay %s: %w", subject, err)
	}
	r.sub = sub
	// The callback only orders and queues, so the client's own pending
	// list stays short; its limit is a backstop (what it drops shows as a
	// gap: the relay asks for a resend, or reports it lost).
	if err := sub.SetPendingLimits(max(4*opts.QueueRecords, natsPendingMin), max(4*opts.QueueBytes, natsPendingMin*1024)); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("logfwd: relay %s: %w", subject, err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("logfwd: relay %s: %w", subject, err)
	}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

// gapWait is how long the relay holds records that came after a gap for
// the missing ones (a publisher resends after a reconnect) before it
// reports them lost. At most QueueRecords records and QueueBytes of them
// are held meanwhile.
const gapWait = 3 * time.Second

// natsPendingMin is the least number of messages (and KiB) the client
// library may hold for the relay's callback; see NewRelayWith.
const natsPendingMin = 8192

// subCheck is how often a relay checks that its subscription is still
// valid and whether its connection has reconnected; resendEvery is how
// often it asks the publisher for the records it misses while a gap is
// open or after a reconnect.
const (
	subCheck    = 250 * time.Millisecond
	resendEvery = 250 * time.Millisecond
)

// run hands the queued records to the handler until Close.
func (r *Relay) run() {
	defer r.wg.Done()
	ctx := context.Background()
	tick := time.NewTicker(subCheck)
	defer tick.Stop()
	r.reconnects = r.nc.Stats().Reconnects
	var batch []queued
	for {
		batch = r.take(batch)
		for i, q := range batch {
			if r.closing.Load() {
				r.putBack(batch[i:])
				return
			}
			r.handle(ctx, q)
			r.qlen.Add(-1)
		}
		clear(batch) // the messages are garbage now
		if len(batch) > 0 {
			select { // a burst keeps the queue full: look at the clock too
			case now := <-tick.C:
				if !r.tick(ctx, now) {
					return
				}
			default:
			}
			continue
		}
		select {
		case <-r.ready:
		case <-r.done:
			return
		case now := <-tick.C:
			if !r.tick(ctx, now) {
				return
			}
		}
	}
}

// tick is run's periodic check; false when the subscription has ended.
func (r *Relay) tick(ctx context.Context, now time.Time) bool {
	if !r.sub.IsValid() {
		r.stopped(ctx)
		return false
	}
	r.checkMissed(now)
	return true
}

// push queues q for run; r.mu is held.
func (r *Relay) push(q queued) {
	r.qlen.Add(1)
	r.qmu.Lock()
	r.q = append(r.q, q)
	first := len(r.q) == 1
	r.qmu.Unlock()
	if first {
		select {
		case r.ready <- struct{}{}:
		default:
		}
	}
}

// take returns what is queued, giving the queue spare's array.
func (r *Relay) take(spare []queued) []queued {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	b := r.q
	r.q = spare[:0]
	return b
}

// putBack returns records run took but did not handle to the front of
// the queue, for Close to count.
func (r *Relay) putBack(left []queued) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	r.q = append(append([]queued(nil), left...), r.q...)
}

// checkMissed asks the publisher for the records this relay may have
// missed without seeing a gap (the last ones before a pause): after its
// own connection reconnected (the publisher's resend on its reconnect may
// have come before this relay's subscription was back) and after the
// client library dropped messages for the subscription (its pending limit;
// it happens when the callback is starved of CPU): for gapWait after each,
// every resendEvery.
func (r *Relay) checkMissed(now time.Time) {
	if n := r.nc.Stats().Reconnects; n != r.reconnects {
		r.reconnects = n
		r.askUntil = now.Add(gapWait)
	}
	if n, err := r.sub.Dropped(); err == nil && n != r.natsDropped {
		r.natsDropped = n
		r.askUntil = now.Add(gapWait)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.askUntil) {
		r.askResend(now)
	}
	// Drops are reported with the next record queued; with none coming,
	// report them once the queue has room, not later.
	if r.pendingDrop > 0 && r.qlen.Load() < int64(r.opts.QueueRecords) {
		r.push(queued{dropped: r.pendingDrop})
		r.pendingDrop = 0
	}
}

// askResend asks the publisher to resend from r.next, at most every
// resendEvery; r.mu is held.
func (r *Relay) askResend(now time.Time) {
	if r.inbox == "" || r.opts.NoAck || now.Sub(r.lastAsk) < resendEvery-resendEvery/10 {
		return
	}
	r.lastAsk = now
	_ = r.nc.Publish(r.inbox+"."+resendToken, strconv.AppendUint(nil, r.next, 10))
}

// stopped reports, loudly, a subscription that ended without Close (the
// connection was closed): nothing more can be relayed.
func (r *Relay) stopped(ctx context.Context) {
	// Hand over what is queued: it arrived.
	for batch := r.take(nil); len(batch) > 0; batch = r.take(nil) {
		for _, q := range batch {
			r.handle(ctx, q)
			r.qlen.Add(-1)
		}
	}
	err := nats.ErrBadSubscription
	if r.nc.IsClosed() {
		err = nats.ErrConnectionClosed
	}
	rec := slog.NewRecord(time.Now(), slog.LevelError, "log relay stopped: no more records from this service can arrive", 0)
	rec.AddAttrs(slog.String("err", err.Error()))
	r.emit(ctx, rec)
}

func (r *Relay) handle(ctx context.Context, q queued) {
	if q.dropped > 0 {
		r.dropped.Add(q.dropped)
		r.emit(ctx, warnRecord("log records dropped: the parent's log handler did not keep up",
			slog.Int64("dropped", q.dropped), slog.Int("queue_records", r.opts.QueueRecords)))
	}
	if q.lost > 0 {
		r.lost.Add(q.lost)
		r.emit(ctx, warnRecord("log records lost in transit", slog.Int64("lost", q.lost)))
	}
	if q.m == nil {
		return
	}
	r.qbytes.Add(-int64(len(q.m.Data)))
	r.deliver(ctx, q.m)
	r.unacked += len(q.m.Data)
	if (q.seq%AckEvery == 0 || r.unacked >= AckBytes) && q.seq > 0 && q.m.Reply != "" && !r.opts.NoAck {
		// The publisher's pace: every record up to this one is handled.
		_ = r.nc.Publish(q.m.Reply, r.id)
		r.unacked = 0
	}
}

// onMsg is the subscription's callback: it orders and queues, never waits
// for the handler (except to queue the end-of-log marker).
func (r *Relay) onMsg(m *nats.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Reply != "" && !r.fromInbox(m.Reply) {
		// The relay answers a record's reply subject (acknowledgements,
		// resend requests): one outside the inbox namespace would make it
		// publish onto someone else's log., evt. or life. subject.
		m.Reply = ""
	}
	if r.closed {
		return
	}
	seq, ok := msgSeq(m)
	if ok && m.Reply != "" && r.inbox != "" && !r.ownRecord(m.Reply) {
		ok = false // another publisher's number: not in this sequence
	}
	if !ok {
		if r.inbox != "" && m.Header != nil && m.Header.Get(EOFHeader) != "" {
			// Not the publisher's marker (a Handler numbers its own):
			// the publisher's records may still come.
			m = &nats.Msg{Subject: m.Subject, Data: fmt.Appendf(nil,
				`{"time":%q,"level":"WARN","msg":"end-of-log marker without a sequence number: ignored"}`,
				time.Now().Format(time.RFC3339Nano))}
		}
		r.enqueue(m, 0)
		return
	}
	if !r.joined && m.Reply != "" { // an inbox subject: checked above
		r.joined = true
		handled := r.next - 1
		if r.inbox == "" {
			// Following from this record: what came before is not ours.
			r.inbox = m.Reply[:strings.LastIndexByte(m.Reply, '.')]
			handled = seq - 1
		}
		if !r.opts.NoAck {
			// Join the publisher's pace at once: until its first
			// acknowledgement of handled records it would not know this
			// relay, and would run as far ahead as the fastest relay let it.
			_ = r.nc.Publish(r.inbox+"."+strconv.FormatUint(handled, 10), r.id)
		}
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
			// A gap: ask for what is missing, and again every
			// resendEvery until it is filled or gapWait has passed.
			r.heldSince = time.Now()
			r.askResend(r.heldSince)
			r.armGapTimer(resendEvery)
		}
		r.held[seq] = m
		r.heldBytes += len(m.Data)
		// Bounded as the queue is: past it, every gap is given up at once.
		if len(r.held) > r.opts.QueueRecords || r.heldBytes > r.opts.QueueBytes {
			r.skipAllGaps()
		}
		return
	}
	r.enqueue(m, seq)
	r.next++
	r.drainHeld()
}

// SetInbox tells the relay its publisher's inbox (see RelayOptions.Inbox)
// when it is learned after the relay was made: from the answer of the
// request that started the publisher, for example. It is ignored when the
// relay knows one already, or when inbox is no inbox subject.
func (r *Relay) SetInbox(inbox string) {
	if !isPublisherInbox(inbox) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inbox == "" {
		r.inbox = inbox
	}
}

// isPublisherInbox reports whether inbox can be a publisher's: its records'
// reply subjects, inbox.SEQ, are inbox subjects.
func isPublisherInbox(inbox string) bool { return inbox != "" && bus.IsInbox(inbox+".1") }

// Inbox is the publisher's inbox this relay asks for what it misses
// (RelayOptions.Inbox, or learned from the first record); empty while it
// knows none.
func (r *Relay) Inbox() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inbox
}

// fromInbox reports whether reply is one inbox subject (bus.IsInbox):
// at once for the form of every record of the publisher this relay
// follows, its inbox and a sequence number (IsInbox walks every byte,
// ~70 ns a record). r.mu is held.
func (r *Relay) fromInbox(reply string) bool {
	if n := len(r.inbox); n > 0 && len(reply) > n+1 && reply[n] == '.' && reply[:n] == r.inbox && allDigits(reply[n+1:]) {
		return true
	}
	return bus.IsInbox(reply)
}

// ownRecord reports whether reply is r.inbox.SEQ; r.mu is held.
func (r *Relay) ownRecord(reply string) bool {
	n := len(r.inbox)
	return len(reply) > n+1 && reply[n] == '.' && reply[:n] == r.inbox && allDigits(reply[n+1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// msgSeq is a message's sequence number: in the reply subject of a
// record, in SeqHeader of the end-of-log marker.
func msgSeq(m *nats.Msg) (uint64, bool) {
	if m.Header != nil {
		if s := m.Header.Get(SeqHeader); s != "" {
			seq, err := strconv.ParseUint(s, 10, 64)
			return seq, err == nil && seq > 0
		}
	}
	return replySeq(m.Reply)
}

// armGapTimer makes gapExpired run after d; r.mu is held.
func (r *Relay) armGapTimer(d time.Duration) {
	if r.gapTimer == nil {
		r.gapTimer = time.AfterFunc(d, r.gapExpired)
		return
	}
	r.gapTimer.Reset(d)
}

func (r *Relay) gapExpired() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.held) == 0 {
		return
	}
	if wait := gapWait - time.Since(r.heldSince); wait > 0 {
		r.askResend(time.Now())
		r.armGapTimer(min(wait, resendEvery))
		return
	}
	r.skipGap()
}

// drainHeld queues the held messages that are next in sequence; r.mu is
// held.
func (r *Relay) drainHeld() {
	if len(r.held) == 0 {
		return
	}
	for {
		m, ok := r.held[r.next]
		if !ok {
			break
		}
		delete(r.held, r.next)
		r.heldBytes -= len(m.Data)
		r.enqueue(m, r.next)
		r.next++
	}
	if len(r.held) > 0 {
		// Another gap.
		r.heldSince = time.Now()
		r.askResend(r.heldSince)
		r.armGapTimer(resendEvery)
	}
}

// skipGap gives up on the missing messages before the first held one;
// they are reported lost with the next record. r.mu is held.
func (r *Relay) skipGap() {
	first := uint64(0)
	for seq := range r.held {
		if first == 0 || seq < first {
			first = seq
		}
	}
	r.pendingLost += int64(first - r.next)
	r.next = first
	r.drainHeld()
}

// skipAllGaps gives up on every missing message before the last held one:
// what is held is queued in order, the missing counted lost with the next
// record. (Giving up one gap per message that arrives would scan all that
// is held for each, with a gap between every two.) r.mu is held.
func (r *Relay) skipAllGaps() {
	seqs := make([]uint64, 0, len(r.held))
	for seq := range r.held {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		r.pendingLost += int64(seq - r.next)
		r.enqueue(r.held[seq], seq)
		r.next = seq + 1
	}
	clear(r.held)
	r.heldBytes = 0
}

// enqueue queues m for the handler, or drops and counts it when the queue
// is full. The end-of-log marker is never dropped: it has a slot of its
// own. r.mu is held.
func (r *Relay) enqueue(m *nats.Msg, seq uint64) {
	q := queued{m: m, seq: seq, dropped: r.pendingDrop, lost: r.pendingLost}
	if m.Header != nil && m.Header.Get(EOFHeader) != "" && len(m.Data) == 0 {
		// The last slot is kept for it (a second marker, without a
		// sequence number, may find it taken). A "marker" with a body
		// (not a Handler's) is bounded as a record is, below.
		if r.qlen.Load() <= int64(r.opts.QueueRecords) {
			r.push(q)
			r.pendingDrop, r.pendingLost = 0, 0
		}
		return
	}
	if r.qlen.Load() >= int64(r.opts.QueueRecords) || r.qbytes.Load()+int64(len(m.Data)) > int64(r.opts.QueueBytes) {
		r.pendingDrop++
		return
	}
	r.qbytes.Add(int64(len(m.Data)))
	r.push(q)
	r.pendingDrop, r.pendingLost = 0, 0
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

// Conn is the connection the relay subscribes on.
func (r *Relay) Conn() *nats.Conn { return r.nc }

// Count is the number of records relayed so far.
func (r *Relay) Count() int64 { return r.count.Load() }

// Bad is the number of messages that were not valid records.
func (r *Relay) Bad() int64 { return r.bad.Load() }

// Dropped is the number of records dropped: by the publisher (it could
// not publish them) or by this relay (its queue was full).
func (r *Relay) Dropped() int64 { return r.dropped.Load() }

// Lost is the number of records that never arrived (a gap in the
// publisher's sequence that no resend filled).
func (r *Relay) Lost() int64 { return r.lost.Load() }

// Duplicates is the number of messages dropped as already relayed.
func (r *Relay) Duplicates() int64 { return r.dups.Load() }

// Close unsubscribes and waits for the relay's goroutine. Records still
// queued are not relayed (call WaitEOF first to keep them): the handler
// gets one WARN record saying how many. It is idempotent.
func (r *Relay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		err = r.sub.Unsubscribe()
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
			err = nil
		}
		r.closing.Store(true)
		close(r.done)
		r.wg.Wait()
		r.mu.Lock()
		r.closed = true
		if r.gapTimer != nil {
			r.gapTimer.Stop()
		}
		left := r.pendingDrop + int64(len(r.held))
		r.pendingDrop = 0
		clear(r.held)
		r.heldBytes = 0
		for _, q := range r.take(nil) {
			if q.m != nil && (q.m.Header == nil || q.m.Header.Get(EOFHeader) == "") {
				left++
			}
			left += q.dropped
		}
		r.mu.Unlock()
		if left > 0 {
			r.dropped.Add(left)
			r.emit(context.Background(), warnRecord("log records dropped: the relay was closed before they were handled",
				slog.Int64("dropped", left)))
		}
	})
	return err
}
