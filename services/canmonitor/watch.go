package canmonitor

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/bgkit/bgkit/internal/backlog"
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
// falls behind, those queued and those its reader is working through:
// 128 bytes each (with the previous value), 8 MiB. The monitor never waits for a reader, as
// the bus cannot wait for it: a reader further behind gets the changes its
// watch held, then ErrWatchBehind, so that a watch never loses changes
// silently, and a slow reader slows neither the decoding nor the other
// watches.
const MaxWatchBacklog = 1 << 16

// ErrWatchBehind ends a watch whose reader fell more than MaxWatchBacklog
// changes behind the monitor.
var ErrWatchBehind = fmt.Errorf("the reader fell more than %d changes behind the monitor", MaxWatchBacklog)

// Watch streams the changes of the signals f selects, from the values
// already known on, until the caller stops. The monitor does not wait for
// the reader: a watch holds what its reader has not taken yet, at most
// MaxWatchBacklog changes, and ends with ErrWatchBehind beyond.
func (s *CANMonitorService) Watch(ctx context.Context, f WatchFilter) (iter.Seq2[SignalChange, error], error) {
	w, err := s.mon.newWatch(f)
	if err != nil {
		return nil, service.BadRequest(fmt.Errorf("watch: %w", err))
	}
	// Registered before the method returns, so that no change decoded
	// after the stream opened is missed; removed when the stream ends.
	end := func() { s.mon.removeWatch(w) }
	stop := context.AfterFunc(ctx, end)
	return func(yield func(SignalChange, error) bool) {
		defer stop()
		defer end()
		w.q.Drain(ctx, fmt.Errorf("watch: %w", ErrWatchBehind), yield)
	}, nil
}

// watch is one reader's selection and queue of changes.
type watch struct {
	refs  map[ref]bool // nil: every signal of msg, or of every message
	msg   string
	every bool
	q     *backlog.Queue[SignalChange]
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
	w := &watch{msg: f.Message, every: f.Every, q: backlog.New[SignalChange](MaxWatchBacklog)}
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
	var known []SignalChange
	for r, s := range m.last {
		if w.selects(r) {
			known = append(known, SignalChange{Message: s.Message, Signal: s.Signal, Value: s.Value,
				Label: s.Label, Unit: s.Unit, Time: s.Time, Initial: true})
		}
	}
	slices.SortFunc(known, func(a, b SignalChange) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Message, b.Message), cmp.Compare(a.Signal, b.Signal))
	})
	w.q.Seed(known)
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

// push queues the changes of one frame that w selects. It never waits:
// with the reader MaxWatchBacklog changes behind, the watch takes nothing
// more and ends once the reader has taken what it holds.
func (w *watch) push(changes []SignalChange) {
	var selA [16]SignalChange
	sel := selA[:0]
	for _, c := range changes {
		if w.selects(ref{c.Message, c.Signal}) && (w.every || c.Previous == nil || *c.Previous != c.Value) {
			sel = append(sel, c)
		}
	}
	w.q.Push(sel...)
}
