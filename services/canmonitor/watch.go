package canmonitor

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/bgkit/bgkit/service"
)

// WatchFilter selects the signals of a watch stream. Empty: every signal
// of the DBC.
type WatchFilter struct {
	// Signals named as for signal ("VehicleSpeed" or
	// "ABS_Status.VehicleSpeed"); with Message set, signals of that
	// message.
	Signals []string `json:"signals,omitempty" doc:"Signals to watch, named as for signal (VehicleSpeed or ABS_Status.VehicleSpeed); empty: every signal (of message, if set)." example:"[\"VehicleSpeed\"]"`
	// Message alone: every signal of that message.
	Message string `json:"message,omitempty" doc:"Message (DBC name): watch its signals, or look the signals up in it." example:""`
	// Every sends every decoded value, not only changes.
	Every bool `json:"every,omitempty" doc:"Send every decoded value, not only changes." example:"false"`
}

// SignalChange is one item of a watch stream: a signal took a new value.
type SignalChange struct {
	Message string  `json:"message" doc:"Message (DBC name)."`
	Signal  string  `json:"signal" doc:"Signal name."`
	Value   float64 `json:"value" doc:"New physical value, in unit."`
	// Previous is the value before, nil for the first value seen.
	Previous *float64 `json:"previous,omitempty" doc:"Value before; absent for the first value seen."`
	// Label is the value table's name of Value, if any ("On").
	Label string `json:"label,omitempty" doc:"Value-table name of the value, if it has one."`
	Unit  string `json:"unit,omitempty" doc:"Unit of the signal, from the DBC."`
	// Time is when the frame carrying the value was received.
	Time time.Time `json:"time" doc:"When the frame that carried the value was received."`
	// Initial marks the values already known when the stream opened
	// (Previous is nil): a watch starts with the last value of each
	// signal it selects that a frame has carried.
	Initial bool `json:"initial,omitempty" doc:"A value already known when the stream opened (the watch starts with the last value of each signal)."`
}

// MaxWatchBacklog is how many changes a watch holds for a reader that
// falls behind. When it is full the decoding waits for the reader, up to
// WatchStall (the bus's frames wait meanwhile in the monitor's node, and
// other calls see the values of before); a reader that takes nothing for
// WatchStall ends its stream with an error: a watch never loses changes
// silently.
const (
	MaxWatchBacklog = 1 << 14
	WatchStall      = 2 * time.Second
)

// Watch streams the changes of the signals f selects, from the values
// already known on, until the caller stops. See MaxWatchBacklog for a slow
// reader.
func (s *CANMonitorService) Watch(ctx context.Context, f WatchFilter) (iter.Seq2[SignalChange, error], error) {
	w, err := s.mon.newWatch(f)
	if err != nil {
		return nil, service.BadRequest(fmt.Errorf("watch: %w", err))
	}
	end := func() { w.end(); s.mon.removeWatch(w) }
	stop := context.AfterFunc(ctx, end)
	return func(yield func(SignalChange, error) bool) {
		defer stop()
		defer end()
		w.changes(ctx, yield)
	}, nil
}

// changes yields what is queued until the reader stops, ctx ends or the
// reader took nothing for the stall time.
func (w *watch) changes(ctx context.Context, yield func(SignalChange, error) bool) {
	var spare []SignalChange
	for {
		batch, lost := w.take(spare)
		for i, c := range batch {
			if !yield(c, nil) {
				return
			}
			// A batch is up to a whole backlog: while the reader works
			// through it, a decoding waiting for space hears that the
			// reader takes changes (the stall is a reader taking none).
			if (i+1)%w.tookEvery == 0 {
				w.took()
			}
		}
		if lost {
			yield(SignalChange{}, fmt.Errorf("watch: the reader took nothing for %v with %d changes waiting", w.stall, w.backlog))
			return
		}
		spare = batch[:0]
		if len(batch) > 0 {
			continue
		}
		select {
		case <-w.signal:
		case <-ctx.Done():
			return
		}
	}
}

// watch is one reader's queue of changes.
type watch struct {
	refs    map[ref]bool // nil: every signal of msg, or of every message
	msg     string
	every   bool
	backlog int           // changes queued at most (MaxWatchBacklog)
	stall   time.Duration // how long the decoding waits for a reader that takes nothing (WatchStall)
	// tookEvery: the reader says it took changes every tookEvery of them.
	tookEvery int
	signal    chan struct{} // changes were queued
	space     chan struct{} // the reader took changes
	done      chan struct{} // closed when the watch ends
	endOnce   sync.Once
	mu        sync.Mutex
	queue     []SignalChange
	lost      bool
}

func newWatchQueue(backlog int, stall time.Duration) *watch {
	return &watch{backlog: backlog, stall: stall, tookEvery: max(1, backlog/64),
		signal: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{})}
}

func (w *watch) end() { w.endOnce.Do(func() { close(w.done) }) }

// took tells a push waiting for space that the reader took changes.
func (w *watch) took() {
	select {
	case w.space <- struct{}{}:
	default:
	}
}

func (w *watch) selects(r ref) bool {
	switch {
	case w.refs != nil:
		return w.refs[r]
	case w.msg != "":
		return r.msg == w.msg
	}
	return true
}

// newWatch resolves f and registers the watch, queueing the values known
// now; the decoding queues what follows.
func (m *monitor) newWatch(f WatchFilter) (*watch, error) {
	w := newWatchQueue(MaxWatchBacklog, WatchStall)
	w.msg, w.every = f.Message, f.Every
	if f.Message != "" {
		if _, ok := m.db.Message(f.Message); !ok {
			return nil, fmt.Errorf("%s has no message %s", m.db.Name, f.Message)
		}
	}
	if len(f.Signals) > 0 {
		w.refs = map[ref]bool{}
		for _, name := range f.Signals {
			r, err := m.resolve(f.Message, name)
			if err != nil {
				return nil, err
			}
			w.refs[r] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for r, s := range m.last {
		if w.selects(r) {
			w.queue = append(w.queue, SignalChange{Message: s.Message, Signal: s.Signal, Value: s.Value,
				Label: s.Label, Unit: s.Unit, Time: s.Time, Initial: true})
		}
	}
	slices.SortFunc(w.queue, func(a, b SignalChange) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Message, b.Message), cmp.Compare(a.Signal, b.Signal))
	})
	if len(w.queue) > 0 {
		w.signal <- struct{}{}
	}
	if m.watches == nil {
		m.watches = map[*watch]struct{}{}
	}
	m.watches[w] = struct{}{}
	return w, nil
}

func (m *monitor) removeWatch(w *watch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.watches, w)
}

// push queues the changes of one frame that w selects; with the queue
// full it waits for the reader, up to WatchStall.
func (w *watch) push(changes []SignalChange) {
	var stall *time.Timer
	queued := false
	w.mu.Lock()
	for _, c := range changes {
		if !w.selects(ref{c.Message, c.Signal}) || (!w.every && c.Previous != nil && *c.Previous == c.Value) {
			continue
		}
		for len(w.queue) >= w.backlog && !w.lost {
			w.mu.Unlock()
			if stall == nil {
				stall = time.NewTimer(w.stall)
				defer stall.Stop()
			}
			select {
			case <-w.space:
				stall.Reset(w.stall)
			case <-stall.C:
				w.mu.Lock()
				w.lost = true
				w.mu.Unlock()
			case <-w.done:
				return
			}
			w.mu.Lock()
		}
		if w.lost {
			break
		}
		w.queue = append(w.queue, c)
		queued = true
	}
	w.mu.Unlock()
	if queued {
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

// take returns the queued changes, giving spare for the next ones.
func (w *watch) take(spare []SignalChange) ([]SignalChange, bool) {
	w.mu.Lock()
	q := w.queue
	w.queue = spare
	lost := w.lost
	w.mu.Unlock()
	if len(q) > 0 {
		w.took()
	}
	return q, lost
}
