package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/logfwd"
)

// The recent records of each service.
//
// Log records are plain NATS messages: a `bgkit logs` that starts after a
// quiet service's last record would show nothing. So `bgkit up` and
// `bgkit run`, which stay on the bus for the rig's life anyway, keep the
// last records of every log.<NAME> they see (services of other parents and
// agents on the same bus included) in a small ring per service, bounded in
// records and bytes, and answer requests for them on recentLogsSubject.
// The ring lives in the process that owns the rig rather than in each
// child (which would need a subscription, and permissions, of its own in
// every service, and would forget everything when the child exits — just
// when its last records matter) or in a JetStream stream (which the
// embedded server does not run, and an external deployment may not allow).
// A bus with no up or run on it simply answers nothing, and logs follows
// from now.
//
// The protocol: a request on recentLogsSubject whose JSON is a
// recentRequest; every ring answers with one message per record (the
// record's own payload, header recentSubjectHeader naming its log.<NAME>
// subject, and logfwd.SeqHeader when the record had one), oldest first,
// then a message with header recentEndHeader and no data.
const (
	// recentLogsSubject is where rings answer. TODO(bus): the other
	// subjects are built in package bus; this one belongs there too.
	recentLogsSubject   = bus.RecentLogsSubject
	recentSubjectHeader = "Bgkit-Log-Subject"
	recentEndHeader     = "Bgkit-Log-End"
)

// recentRequest asks for the recent records of one service or all.
type recentRequest struct {
	Service string `json:"service,omitempty"` // "" for every service
	N       int    `json:"n"`                 // the last N of each service; < 0 for all kept
	Since   string `json:"since,omitempty"`   // a Go duration: only records received this recently
}

// Bounds of the ring of one service, and of the number of services kept.
const (
	ringRecords  = 1000
	ringBytes    = 256 << 10
	ringServices = 1000
)

// logRing keeps the last records of each service seen on log.>.
type logRing struct {
	mu       sync.Mutex
	services map[string]*serviceRing // by subject
	now      func() time.Time
}

type serviceRing struct {
	entries []ringEntry
	bytes   int
}

type ringEntry struct {
	subject string
	seq     string
	data    []byte
	at      time.Time // when the ring received it
}

func newLogRing() *logRing {
	return &logRing{services: map[string]*serviceRing{}, now: time.Now}
}

// add keeps a record published on m.Subject.
func (r *logRing) add(m *nats.Msg) {
	if m.Header != nil && m.Header.Get(logfwd.EOFHeader) != "" {
		return
	}
	e := ringEntry{subject: m.Subject, data: m.Data, at: r.now()}
	if m.Header != nil {
		e.seq = m.Header.Get(logfwd.SeqHeader)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.services[m.Subject]
	if s == nil {
		if len(r.services) >= ringServices {
			return
		}
		s = &serviceRing{}
		r.services[m.Subject] = s
	}
	s.entries = append(s.entries, e)
	s.bytes += len(e.data)
	drop := 0
	for len(s.entries)-drop > ringRecords || (s.bytes > ringBytes && len(s.entries)-drop > 1) {
		s.bytes -= len(s.entries[drop].data)
		drop++
	}
	if drop > 0 {
		// Copy down rather than reslice, so the dropped records are freed.
		s.entries = append(s.entries[:0], s.entries[drop:]...)
	}
}

// recent returns the records req asks for, oldest first across services.
func (r *logRing) recent(req recentRequest) []ringEntry {
	var since time.Time
	if d, err := time.ParseDuration(req.Since); err == nil && d > 0 {
		since = r.now().Add(-d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ringEntry
	for subject, s := range r.services {
		if req.Service != "" && subject != bus.LogSubject(req.Service) {
			continue
		}
		es := s.entries
		if !since.IsZero() {
			i, _ := slices.BinarySearchFunc(es, since, func(e ringEntry, t time.Time) int { return e.at.Compare(t) })
			es = es[i:]
		}
		if req.N >= 0 && len(es) > req.N {
			es = es[len(es)-req.N:]
		}
		out = append(out, es...)
	}
	slices.SortStableFunc(out, func(a, b ringEntry) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.subject, b.subject))
	})
	return out
}

// answer replies to a request with the records it asks for and the end
// marker.
func (r *logRing) answer(nc *nats.Conn, m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	req := recentRequest{N: 10}
	if len(m.Data) > 0 && json.Unmarshal(m.Data, &req) != nil {
		req = recentRequest{N: 10}
	}
	for _, e := range r.recent(req) {
		h := nats.Header{recentSubjectHeader: {e.subject}}
		if e.seq != "" {
			h.Set(logfwd.SeqHeader, e.seq)
		}
		if nc.PublishMsg(&nats.Msg{Subject: m.Reply, Header: h, Data: e.data}) != nil {
			return
		}
	}
	_ = nc.PublishMsg(&nats.Msg{Subject: m.Reply, Header: nats.Header{recentEndHeader: {"1"}}})
}

// ringListener holds the subscriptions of a ring on one connection.
type ringListener struct {
	ring       *logRing
	nc         *nats.Conn
	logs, reqs *nats.Subscription
}

// listen subscribes r to log.> and to requests on nc. Records published
// after listen returns are kept (once Run runs).
func (r *logRing) listen(nc *nats.Conn) (*ringListener, error) {
	logs, err := nc.SubscribeSync(bus.LogPrefix + ">")
	if err != nil {
		return nil, fmt.Errorf("recent logs: %w", err)
	}
	_ = logs.SetPendingLimits(100_000, 64<<20)
	reqs, err := nc.SubscribeSync(recentLogsSubject)
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		_ = logs.Unsubscribe()
		return nil, fmt.Errorf("recent logs: %w", err)
	}
	return &ringListener{ring: r, nc: nc, logs: logs, reqs: reqs}, nil
}

// Run keeps records and answers requests until ctx ends, then
// unsubscribes. It returns after its goroutines have exited.
func (l *ringListener) Run(ctx context.Context) {
	defer l.logs.Unsubscribe()
	defer l.reqs.Unsubscribe()
	var wg sync.WaitGroup
	loop := func(sub *nats.Subscription, handle func(*nats.Msg)) {
		defer wg.Done()
		for {
			m, err := sub.NextMsgWithContext(ctx)
			switch {
			case err == nil:
				handle(m)
			case ctx.Err() != nil, errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrBadSubscription):
				return
			}
			// Other errors report a slow consumer: the ring is best effort.
		}
	}
	wg.Add(2)
	go loop(l.logs, l.ring.add)
	go loop(l.reqs, func(m *nats.Msg) { l.ring.answer(l.nc, m) })
	wg.Wait()
}
