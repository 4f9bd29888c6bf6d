package logfwd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
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
	// text: the inner handler has no ReplaceAttr, so Handle and WithAttrs
	// write durations as text themselves (see NewHandler).
	text bool
}

// SeqHeader numbers a message of a publisher that has a header (the
// end-of-log marker). Records carry their number in their reply subject
// instead, which costs neither side a header: REPLY.<seq>, where REPLY is
// an inbox of the publisher (see [AckEvery]). Numbers start at 1, so that
// a relay can put the messages in order, drop duplicates and see gaps.
const SeqHeader = "Bgkit-Log-Seq"

// Resend window: the most recent records kept for Resend.
const (
	resendRecords = 1 << 16
	resendBytes   = 8 << 20
)

// Flow control. A relay acknowledges every AckEvery-th record, once
// handled, by publishing its id on the record's reply subject, and joins
// on the first record it receives by acknowledging the number before it
// (inbox.0 for record 1), so that the publisher knows every relay before
// it is far ahead of any. A publisher
// more than Window records ahead of the slowest relay that acknowledged
// within StallWait (so that two relays — an agent's and its requester's —
// both keep up) waits for an acknowledgement, for at most StallWait; then it goes on without waiting until
// acknowledgements come again (a relay whose handler is stuck drops what
// does not fit its queue, and says how many). A publisher that has no
// relay acknowledging (nobody listens, or only followers) waits StallWait
// once.
//
// The window is counted in bytes as well (WindowBytes, the payloads past
// the slowest relay's acknowledgement), so that large records do not
// overflow a relay's queue (DefaultQueueBytes); a relay also acknowledges
// each time it has handled AckBytes since its last acknowledgement, so
// that a publisher held by bytes always has one to wait for.
const (
	AckEvery    = 512
	AckBytes    = 1 << 20
	Window      = 12288
	WindowBytes = 4 << 20
	StallWait   = time.Second
)

// cumSlots numbers the running totals of published bytes the window looks
// up (by sequence number modulo cumSlots): more than a window of records.
const cumSlots = 16384

var _ [cumSlots - Window - 1]struct{} // cumSlots > Window

// A relay that misses records (a gap in the sequence, or its own
// connection reconnected) publishes on REPLY-inbox.resend the first
// number it misses; the publisher resends what it still has from there.
const resendToken = "resend"

// publisher is the io.Writer under the JSON handler: every Write is one
// record (slog's JSON handler writes a record with a single Write call).
type publisher struct {
	nc       *nats.Conn
	subject  string
	fallback *os.File // where records go when publishing fails
	dropped  atomic.Int64
	reported atomic.Int64 // drops already reported in-band
	closed   atomic.Bool

	// Flow control: the relay's acknowledgements arrive on inbox.<seq>.
	inbox  string
	ackSub *nats.Subscription
	pubSeq atomic.Uint64 // = seq, for the pacing outside mu
	credit sync.Mutex    // guards what follows
	acked  uint64        // the highest sequence number acknowledged
	relays map[string]*relayAcks
	floor  uint64 // the lowest acked of relays when last computed
	// Bytes of the records published (not resent), and for each of the
	// last cumSlots sequence numbers the total once it was published:
	// written under mu, read by pace without it.
	pubBytes atomic.Uint64
	cum      atomic.Pointer[[cumSlots]atomic.Uint64] // made at the first byte counted
	wake     chan struct{}                           // closed and replaced at each acknowledgement
	unpaced  bool                                    // waited StallWait in vain: do not wait until acked again
	stalls   atomic.Int64
	// A resend asked by a relay runs; resendFrom (if not 0) is where the
	// next must start.
	resending  bool
	resendFrom uint64

	mu    sync.Mutex // orders seq, ring and publishing; guards what follows
	reply []byte     // inbox + "." + seq, rebuilt in place
	seq   uint64     // of the last message published
	ring  []sent     // the last records published: a circular buffer
	head  int        // index of the oldest in ring
	n     int        // records in ring
	bytes int
}

type sent struct {
	seq  uint64
	data []byte      // its capacity is reused
	hdr  nats.Header // of the end-of-log marker; nil for a record
}

// Write publishes one record. A record larger than the server takes in one
// message is cut to fit (cutRecord): its level, message and the attributes
// that fit stay, and it says what was cut. A record that cannot be
// published — the
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
	p.pace()
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, r := p.dropped.Load(), p.reported.Load(); d > r {
		note := fmt.Appendf(nil, `{"time":%q,"level":"WARN","msg":"log records dropped","dropped":%d}`,
			time.Now().Format(time.RFC3339Nano), d-r)
		if p.publish(note) == nil {
			p.reported.Store(d)
		}
	}
	if limit := p.nc.MaxPayload(); limit > 0 && int64(len(b)) > limit {
		if cut, ok := cutRecord(b, int(limit)); ok {
			b = cut
		}
	}
	if err := p.publish(b); err != nil {
		p.dropped.Add(1)
		p.fallbackWrite(append(b, '\n'))
	}
	return n, nil
}

// replyFor is the reply subject that carries seq; p.mu is held.
func (p *publisher) replyFor(seq uint64) string {
	p.reply = strconv.AppendUint(append(append(p.reply[:0], p.inbox...), '.'), seq, 10)
	return string(p.reply)
}

// publish sends a record with the next sequence number and keeps a copy
// for Resend; p.mu is held. A record that fails takes no number.
func (p *publisher) publish(data []byte) error {
	if err := p.nc.PublishRequest(p.subject, p.replyFor(p.seq+1), data); err != nil && !appended(err) {
		return err
	}
	// A write error (the server died) comes after the record was put in
	// the connection's buffer: it may reach the server or not. It has its
	// number and is kept, so that a resend fills the gap it leaves.
	p.seq++
	p.pubSeq.Store(p.seq)
	p.keep(p.seq, data)
	p.count(len(data))
	return nil
}

// count adds a record of n bytes, the one numbered p.seq, to the running
// total; p.mu is held. The table of totals (128 KiB) is made once the
// total is not 0: a child that logged nothing sends its end-of-log
// marker (0 bytes) without it, which took 25-45 µs of its stop, the
// pages faulted in and freed again at exit (within reads 0 for a total
// without a table).
func (p *publisher) count(n int) {
	c := p.cum.Load()
	if c == nil && n == 0 && p.pubBytes.Load() == 0 {
		return
	}
	if c == nil {
		c = new([cumSlots]atomic.Uint64)
		p.cum.Store(c)
	}
	c[p.seq%cumSlots].Store(p.pubBytes.Add(uint64(n)))
}

// within reports whether the publisher may go on with a relay at floor:
// less than Window records and WindowBytes bytes ahead of it.
func (p *publisher) within(floor uint64) bool {
	if p.pubSeq.Load() >= floor+Window {
		return false
	}
	var at uint64 // the total once floor was published; 0 before record 1
	if c := p.cum.Load(); c != nil && floor > 0 {
		at = c[floor%cumSlots].Load()
	}
	return p.pubBytes.Load()-at < WindowBytes
}

// publishMarker sends the end-of-log marker (with hdr) with the next
// sequence number; p.mu is held.
func (p *publisher) publishMarker(hdr nats.Header) error {
	hdr.Set(SeqHeader, strconv.FormatUint(p.seq+1, 10))
	if err := p.nc.PublishMsg(&nats.Msg{Subject: p.subject, Header: hdr}); err != nil && !appended(err) {
		return err
	}
	p.seq++
	p.pubSeq.Store(p.seq)
	p.keep(p.seq, nil)
	p.count(0)
	p.ring[(p.head+p.n-1)%len(p.ring)].hdr = hdr // a relay may miss it too
	return nil
}

// keep copies a record into the resend window, reusing the oldest slot's
// buffer once the window is full; p.mu is held.
func (p *publisher) keep(seq uint64, data []byte) {
	if p.n == len(p.ring) && len(p.ring) < resendRecords {
		p.grow()
	}
	for p.n > 0 && (p.n == len(p.ring) || p.bytes+len(data) > resendBytes) {
		p.bytes -= len(p.ring[p.head].data)
		p.head = (p.head + 1) % len(p.ring)
		p.n--
	}
	slot := &p.ring[(p.head+p.n)%len(p.ring)]
	slot.seq = seq
	slot.data = append(slot.data[:0], data...)
	slot.hdr = nil
	p.bytes += len(data)
	p.n++
}

// grow doubles the resend window up to resendRecords, oldest first. It
// starts small: a full window is 2.6 MB, and a child that logs a little
// should not pay for it (pages are costly to fault in and to free at exit).
func (p *publisher) grow() {
	ring := make([]sent, min(max(2*len(p.ring), 64), resendRecords))
	for i := range p.n {
		ring[i] = p.ring[(p.head+i)%len(p.ring)]
	}
	p.ring, p.head = ring, 0
}

// appended tells whether a publish error came after the message was
// buffered by the connection: every error but those nats.go returns
// before buffering.
func appended(err error) bool {
	for _, before := range []error{nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrReconnectBufExceeded,
		nats.ErrMaxPayload, nats.ErrInvalidConnection, nats.ErrBadSubject, nats.ErrHeadersNotSupported} {
		if errors.Is(err, before) {
			return false
		}
	}
	return true
}

// resend publishes the kept records numbered from on again, oldest first,
// with their own sequence numbers (and reply subjects, so that relays
// acknowledge them as usual).
func (p *publisher) resend(from uint64) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	first := 0 // the ring holds consecutive numbers: start at from
	if p.n > 0 && from > p.ring[p.head].seq {
		first = int(min(from-p.ring[p.head].seq, uint64(p.n)))
	}
	for i := first; i < p.n; i++ {
		r := p.ring[(p.head+i)%len(p.ring)]
		if r.seq < from {
			continue
		}
		var err error
		if r.hdr != nil {
			err = p.nc.PublishMsg(&nats.Msg{Subject: p.subject, Header: r.hdr})
		} else {
			err = p.nc.PublishRequest(p.subject, p.replyFor(r.seq), r.data)
		}
		if err != nil && !appended(err) {
			return n, err
		}
		n++
	}
	return n, nil
}

// resendAsked serves a relay's resend request (it saw a gap, or its own
// connection reconnected): the records from the number in the body.
// Requests that come while a resend runs are merged into one more.
func (p *publisher) resendAsked(m *nats.Msg) {
	from, err := strconv.ParseUint(string(m.Data), 10, 64)
	if err != nil || from == 0 {
		return
	}
	p.credit.Lock()
	if p.resending {
		p.resendFrom = min(p.resendFrom, from)
		p.credit.Unlock()
		return
	}
	p.resending = true
	p.credit.Unlock()
	go func() {
		for {
			_, _ = p.resend(from)
			p.credit.Lock()
			if p.resendFrom == 0 {
				p.resending = false
				p.credit.Unlock()
				return
			}
			from, p.resendFrom = p.resendFrom, 0
			p.credit.Unlock()
		}
	}()
}

// pace waits while the publisher is Window records or WindowBytes ahead
// of the relay's acknowledgements, for at most StallWait.
func (p *publisher) pace() {
	if p.ackSub == nil {
		return
	}
	var timer *time.Timer
	for {
		p.credit.Lock()
		if p.unpaced || p.within(p.floor) || p.within(p.limit(time.Now())) {
			p.credit.Unlock()
			break
		}
		wake := p.wake
		p.credit.Unlock()
		if timer == nil {
			timer = time.NewTimer(StallWait)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			p.credit.Lock()
			p.unpaced = true
			p.credit.Unlock()
			p.stalls.Add(1)
			return
		}
	}
}

// onAck takes a relay's acknowledgement: every record up to the sequence
// number of its subject has been handled.
func (p *publisher) onAck(m *nats.Msg) {
	if strings.HasSuffix(m.Subject, "."+resendToken) {
		p.resendAsked(m)
		return
	}
	seq, ok := lastNumber(m.Subject) // 0: a relay joining before record 1
	if !ok {
		return
	}
	p.credit.Lock()
	defer p.credit.Unlock()
	p.unpaced = false
	id := string(m.Data) // the relay's
	ra := p.relays[id]
	if ra == nil {
		if p.relays == nil {
			p.relays = map[string]*relayAcks{}
		}
		ra = &relayAcks{}
		p.relays[id] = ra
	}
	ra.at = time.Now()
	if seq > ra.acked {
		ra.acked = seq
	}
	p.acked = max(p.acked, seq)
	p.floor = p.limit(ra.at)
	close(p.wake)
	p.wake = make(chan struct{})
}

// relayAcks is what one relay has acknowledged, and when last.
type relayAcks struct {
	acked uint64
	at    time.Time
}

// limit is the pace: the lowest number acknowledged by the relays that
// acknowledged within StallWait (a relay whose handler is stuck, or that
// is gone, no longer holds the publisher back); with none, the highest
// acknowledged. Relays silent for long are forgotten. p.credit is held.
func (p *publisher) limit(now time.Time) uint64 {
	low, any := uint64(0), false
	for id, ra := range p.relays {
		switch age := now.Sub(ra.at); {
		case age > 10*StallWait:
			delete(p.relays, id)
		case age <= StallWait && (!any || ra.acked < low):
			low, any = ra.acked, true
		}
	}
	if !any {
		return p.acked
	}
	return low
}

// replySeq is the sequence number at the end of a record's reply subject.
func replySeq(reply string) (uint64, bool) {
	seq, ok := lastNumber(reply)
	return seq, ok && seq > 0
}

// lastNumber is the number in the last token of a subject.
func lastNumber(subject string) (uint64, bool) {
	i := strings.LastIndexByte(subject, '.')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(subject[i+1:], 10, 64)
	return n, err == nil
}

func (p *publisher) fallbackWrite(b []byte) {
	if p.fallback != nil {
		_, _ = p.fallback.Write(b)
	}
}

// shortInbox is an inbox under nc's inbox prefix with a last token of 8
// characters instead of nats.go's 22: every record carries it in its
// reply subject, and each byte of a message's protocol line costs the
// server and the relay's client their parsing. 48 random bits tell apart
// the handlers of one connection.
func shortInbox(nc *nats.Conn) string {
	full := nc.NewInbox()
	prefix := full[:strings.LastIndexByte(full, '.')]
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "." + base64.RawURLEncoding.EncodeToString(b[:])
}

// NewHandler returns a handler that publishes records on subject. opts are
// those of slog.NewJSONHandler (level, source, ReplaceAttr); nil means INFO.
// A time.Duration attribute travels as its string ("5s"), not as
// nanoseconds, so that it reads as a duration wherever the record is shown
// (JSON has no duration type: a number would arrive as a plain integer).
// Records that cannot be published (connection closed) are written to
// stderr instead, where a bgkit parent still relays them.
//
// The handler subscribes to an inbox of nc for the relay's
// acknowledgements (see Window); if it cannot, it publishes without pace.
func NewHandler(nc *nats.Conn, subject string, opts *slog.HandlerOptions) *Handler {
	return NewHandlerInbox(nc, subject, "", opts)
}

// NewHandlerInbox is NewHandler with inbox as the handler's inbox, instead
// of one under nc's inbox prefix: records carry it in their reply subject
// (inbox.SEQ), and the handler subscribes to inbox.* for the relays'
// acknowledgements and resend requests, so nc must be allowed to. Given
// to a relay (RelayOptions.Inbox), it lets a relay that has received no
// record yet ask for what it missed; a short one costs the server and the
// relays less. A bgkit child gets one with its credentials
// (bus.Credentials.LogInbox). Empty: NewHandler.
func NewHandlerInbox(nc *nats.Conn, subject, inbox string, opts *slog.HandlerOptions) *Handler {
	p := &publisher{nc: nc, subject: subject, fallback: os.Stderr, wake: make(chan struct{})}
	p.inbox = inbox
	if inbox == "" {
		p.inbox = shortInbox(nc)
	}
	if sub, err := nc.Subscribe(p.inbox+".*", p.onAck); err == nil {
		p.ackSub = sub
	}
	o := slog.HandlerOptions{}
	if opts != nil {
		o = *opts
	}
	h := &Handler{pub: p}
	if o.ReplaceAttr == nil {
		// The usual case. Any ReplaceAttr makes slog hand it the time,
		// level and message of every record as Attrs, and every
		// attribute: ~40 % of the JSON handler's time for a short record.
		// Durations are made text before the handler instead (Handle and
		// WithAttrs), which costs a look at each attribute's kind.
		h.text = true
	} else {
		o.ReplaceAttr = durationsAsText(o.ReplaceAttr)
	}
	h.inner = slog.NewJSONHandler(p, &o)
	return h
}

// withTextDurations is r with its durations as text, or r itself when it
// has none (nor a LogValuer, which may resolve to one).
func withTextDurations(r slog.Record) slog.Record {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = needsText(a.Value)
		return !found
	})
	if !found {
		return r
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(textDuration(a))
		return true
	})
	return out
}

// needsText reports whether v is, or may resolve to, or holds a duration.
func needsText(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindDuration, slog.KindLogValuer:
		return true
	case slog.KindGroup:
		for _, a := range v.Group() {
			if needsText(a.Value) {
				return true
			}
		}
	}
	return false
}

// textDuration resolves a's value, as slog's handlers do, and writes the
// durations in it as their text ("1.5s").
func textDuration(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindDuration:
		a.Value = slog.StringValue(a.Value.Duration().String())
	case slog.KindGroup:
		if needsText(a.Value) {
			a.Value = slog.GroupValue(textDurations(a.Value.Group())...)
		}
	}
	return a
}

// textDurations is as with textDuration applied to each, or as itself
// when none needs it.
func textDurations(as []slog.Attr) []slog.Attr {
	if !slices.ContainsFunc(as, func(a slog.Attr) bool { return needsText(a.Value) }) {
		return as
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = textDuration(a)
	}
	return out
}

// durationsAsText returns a ReplaceAttr that writes durations as text,
// then applies next (if any).
//
// It also hands the JSON handler the record's level as its string: any
// ReplaceAttr makes slog pass the level as an Attr holding a slog.Level,
// which it then writes through encoding/json (Level.MarshalJSON) — a
// fifth of a child's CPU per record when it logs fast. The text is the
// same ("INFO", "WARN+2"); next still sees the slog.Level.
func durationsAsText(next func([]string, slog.Attr) slog.Attr) func([]string, slog.Attr) slog.Attr {
	return func(groups []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		if next != nil {
			a = next(groups, a)
		}
		if a.Value.Kind() == slog.KindAny {
			if l, ok := a.Value.Any().(slog.Level); ok {
				a.Value = slog.StringValue(l.String())
			}
		}
		return a
	}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.text {
		r = withTextDurations(r)
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	if h.text {
		as = textDurations(as)
	}
	return &Handler{inner: h.inner.WithAttrs(as), pub: h.pub, text: h.text}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), pub: h.pub, text: h.text}
}

// Dropped counts the records that could not be published.
func (h *Handler) Dropped() int64 { return h.pub.dropped.Load() }

// Stalls counts the times the handler waited StallWait for the relay in
// vain and went on without its pace.
func (h *Handler) Stalls() int64 { return h.pub.stalls.Load() }

// Resend publishes again, with their original sequence numbers, the
// records kept (the last 65,536 records or 8 MiB) that no relay has
// acknowledged yet. Call it when the connection has reconnected: what the
// old connection held in flight when its server died is lost otherwise. A
// Relay drops the duplicates. (A relay that still misses records asks for
// them itself.)
func (h *Handler) Resend() (int, error) {
	h.pub.credit.Lock()
	from := h.pub.acked + 1
	h.pub.credit.Unlock()
	n, err := h.pub.resend(from)
	if err != nil {
		return n, fmt.Errorf("logfwd: resend: %w", err)
	}
	return n, nil
}

// Close publishes the end-of-log marker and flushes the connection: when
// it returns, the server has every record. Records handled after Close go
// to stderr. It is idempotent.
func (h *Handler) Close(ctx context.Context) error {
	if first, err := h.end(); !first || err != nil {
		return err
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
	// The acknowledgement subscription stays: a relay that misses records
	// may still ask for them while the connection lives.
	return nil
}

// End publishes the end-of-log marker, as Close does, but does not wait
// for the server: for a connection whose bytes reach the server whatever
// this process does next (a bgkit child whose parent holds its socket
// open; nats.go's Close writes what is buffered). Records handled after
// End go to stderr. Close after End returns nil.
func (h *Handler) End() error {
	_, err := h.end()
	return err
}

// end publishes the marker the first time (first is true then).
func (h *Handler) end() (first bool, err error) {
	if h.pub.closed.Swap(true) {
		return false, nil
	}
	hdr := nats.Header{EOFHeader: {"1"}}
	if d := h.pub.dropped.Load() - h.pub.reported.Load(); d > 0 {
		hdr.Set(DroppedHeader, fmt.Sprint(d)) // not yet reported in-band
	}
	h.pub.mu.Lock()
	err = h.pub.publishMarker(hdr)
	h.pub.mu.Unlock()
	if err != nil {
		return true, fmt.Errorf("logfwd: close: %w", err)
	}
	return true, nil
}
