package canmonitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
)

// Sample is the last value of one signal.
type Sample struct {
	Message string  `json:"message" doc:"Message (DBC name)."`
	Signal  string  `json:"signal" doc:"Signal name."`
	Value   float64 `json:"value" doc:"Last physical value, in unit; 0 until seen."`
	// Label is the value table's name of the value, if any ("On").
	Label string `json:"label,omitempty" doc:"Value-table name of the value, if it has one."`
	Unit  string `json:"unit,omitempty" doc:"Unit of the signal, from the DBC."`
	// Time is when the frame carrying the value was received.
	Time time.Time `json:"time" doc:"When the frame that carried the value was received."`
	// Seen is false when no frame has carried the signal yet.
	Seen bool `json:"seen" doc:"False until a frame has carried the signal."`
}

// ref names a signal of a message.
type ref struct{ msg, sig string }

func (r ref) String() string { return r.msg + "." + r.sig }

// monitor decodes frames with a DBC and keeps the last value of every
// signal. Waiters block on changed, which is closed (and replaced) after
// every decoded frame: the same mechanism can feed a stream of changes.
type monitor struct {
	db *dbc.DB

	mu      sync.Mutex
	last    map[ref]Sample
	changed chan struct{}
	frames  uint64 // frames received
	decoded uint64 // frames of a message of the DBC
	watches map[*watch]struct{}
}

func newMonitor(db *dbc.DB) *monitor {
	return &monitor{db: db, last: map[ref]Sample{}, changed: make(chan struct{})}
}

// run receives frames from node and decodes them until ctx ends or the
// node fails.
func (m *monitor) run(ctx context.Context, node can.Bus) error {
	for {
		r, err := node.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		m.handle(r)
	}
}

// handle decodes one frame. The watches get its values (sorted by signal
// name) after the lock is released; a watch never waits for its reader,
// and handle runs in one goroutine, so they get them at once and in order.
func (m *monitor) handle(r can.Received) {
	d, ok := m.db.Decode(r.Frame)
	m.mu.Lock()
	m.frames++
	if !ok {
		m.mu.Unlock()
		return
	}
	m.decoded++
	var changes []SignalChange
	watching := len(m.watches) > 0
	for name, v := range d.Signals {
		s := Sample{Message: d.Name, Signal: name, Value: v, Time: r.Time, Seen: true}
		if sig, ok := d.Message.Signal(name); ok {
			s.Unit = sig.Unit
			s.Label, _ = sig.ValueName(v)
		}
		k := ref{d.Name, name}
		if watching {
			c := SignalChange{Message: d.Name, Signal: name, Value: v, Label: s.Label, Unit: s.Unit, Time: r.Time}
			if prev, ok := m.last[k]; ok {
				pv := prev.Value // 8 bytes, not the whole Sample, held by the change
				c.Previous = &pv
			}
			changes = append(changes, c)
		}
		m.last[k] = s
	}
	close(m.changed)
	m.changed = make(chan struct{})
	var ws []*watch
	if watching {
		ws = make([]*watch, 0, len(m.watches))
		for w := range m.watches {
			ws = append(ws, w)
		}
	}
	m.mu.Unlock()
	if len(ws) == 0 {
		return
	}
	slices.SortFunc(changes, func(a, b SignalChange) int { return strings.Compare(a.Signal, b.Signal) })
	for _, w := range ws {
		w.push(changes)
	}
}

// resolve finds the signal a caller names: "Signal" when only one message
// has it, "Message.Signal", or the signal with message set.
func (m *monitor) resolve(message, signal string) (ref, error) {
	if message == "" {
		if i := strings.IndexByte(signal, '.'); i > 0 {
			message, signal = signal[:i], signal[i+1:]
		}
	}
	if message != "" {
		msg, ok := m.db.Message(message)
		if !ok {
			return ref{}, fmt.Errorf("%s has no message %s", m.db.Name, message)
		}
		if _, ok := msg.Signal(signal); !ok {
			return ref{}, fmt.Errorf("message %s has no signal %s", message, signal)
		}
		return ref{message, signal}, nil
	}
	var in []string
	for _, msg := range m.db.Messages {
		if _, ok := msg.Signal(signal); ok {
			in = append(in, msg.Name)
		}
	}
	switch len(in) {
	case 0:
		return ref{}, fmt.Errorf("%s has no signal %s", m.db.Name, signal)
	case 1:
		return ref{in[0], signal}, nil
	}
	slices.Sort(in)
	return ref{}, fmt.Errorf("signal %s is in messages %s: name one (\"%s.%s\" or message)", signal, strings.Join(in, ", "), in[0], signal)
}

// valueOf returns the value a name of r's value table stands for.
func (m *monitor) valueOf(r ref, label string) (float64, error) {
	msg, _ := m.db.Message(r.msg)
	sig, _ := msg.Signal(r.sig)
	if v, ok := sig.ValueOf(label); ok {
		return v, nil
	}
	return 0, fmt.Errorf("%s has no value %q", r, label)
}

// get returns the last sample of r.
func (m *monitor) get(r ref) Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sampleLocked(r)
}

func (m *monitor) sampleLocked(r ref) Sample {
	if s, ok := m.last[r]; ok {
		return s
	}
	return Sample{Message: r.msg, Signal: r.sig}
}

// all returns every sample seen, by message and signal.
func (m *monitor) all() map[string]map[string]Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]map[string]Sample{}
	for r, s := range m.last {
		if out[r.msg] == nil {
			out[r.msg] = map[string]Sample{}
		}
		out[r.msg][r.sig] = s
	}
	return out
}

// errNotReached is wrapped by wait's error when ctx ends first.
var errNotReached = errors.New("not reached")

// wait returns the first sample of r that satisfies c: the last one
// already received, unless fresh asks for one received after the call.
func (m *monitor) wait(ctx context.Context, r ref, c cond, fresh bool) (Sample, error) {
	m.mu.Lock()
	s := m.sampleLocked(r)
	after := s.Time
	for {
		if s.Seen && c.holds(s.Value) && (!fresh || s.Time.After(after)) {
			m.mu.Unlock()
			return s, nil
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			last := "never seen"
			if s.Seen {
				last = fmt.Sprintf("last %v at %s", s.Value, s.Time.Format("15:04:05.000"))
			}
			return s, fmt.Errorf("%s %s %v %w (%s)", r, c.op, c.value, errNotReached, last)
		}
		m.mu.Lock()
		s = m.sampleLocked(r)
	}
}

// cond is a condition on a value.
type cond struct {
	op    string
	value float64
}

// Ops are the operators of wait_signal.
var Ops = []string{"==", "!=", "<", "<=", ">", ">="}

func newCond(op string, v float64) (cond, error) {
	if !slices.Contains(Ops, op) {
		return cond{}, fmt.Errorf("op %q: want one of %s", op, strings.Join(Ops, " "))
	}
	if math.IsNaN(v) {
		return cond{}, errors.New("value: NaN")
	}
	return cond{op, v}, nil
}

func (c cond) holds(v float64) bool {
	switch c.op {
	case "==":
		return v == c.value
	case "!=":
		return v != c.value
	case "<":
		return v < c.value
	case "<=":
		return v <= c.value
	case ">":
		return v > c.value
	case ">=":
		return v >= c.value
	}
	return false
}
