package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
	"github.com/bgkit/bgkit/hexid"
)

// RestbusArgs selects the rest-bus simulation of DBC nodes: every message
// they transmit that has a cycle time (GenMsgCycleTime) is sent at it,
// with the start values of its signals (GenSigStartValue).
type RestbusArgs struct {
	// DBC is the path of the DBC file.
	DBC string `json:"dbc" validate:"required" doc:"Path of the DBC file." example:"car.dbc"`
	// Nodes are the simulated nodes (BU_), e.g. ["ECM", "BCM"].
	Nodes []string `json:"nodes" validate:"required,min=1" doc:"Simulated nodes (BU_ names); every message they transmit with a cycle time is sent." example:"[\"ECM\",\"ABS\"]"`
	// Messages, when set, sends only these messages of the nodes.
	Messages []string `json:"messages,omitempty" doc:"Send only these messages of the nodes (DBC names); empty: all of them." default:"all"`
	// Counters are alive counters: a signal incremented in every frame.
	Counters []CounterArgs `json:"counters,omitempty" validate:"dive" doc:"Alive counters: signals incremented in every frame."`
	// Checksums are checksum signals computed over every frame.
	Checksums []ChecksumArgs `json:"checksums,omitempty" validate:"dive" doc:"Checksum signals, computed over every frame after the other signals."`
}

// CounterArgs makes a signal of a message an alive counter.
type CounterArgs struct {
	Message string `json:"message" validate:"required" doc:"Message (DBC name) that carries the counter." example:"EngineData"`
	Signal  string `json:"signal" validate:"required" doc:"Signal incremented in every frame." example:"EngineData_Counter"`
	// Max is the largest value before the counter wraps to 0; default the
	// largest the signal's width holds (15 for 4 bits). AUTOSAR E2E
	// Profile 1 counters use 14.
	Max *uint64 `json:"max,omitempty" doc:"Largest value before the counter wraps to 0; AUTOSAR E2E Profile 1 counters use 14." default:"the signal's largest value"`
}

// ChecksumArgs makes a signal of a message a checksum: an 8-bit signal
// that fills one byte, computed over the other bytes of the payload after
// the signals and the counter are written.
type ChecksumArgs struct {
	Message string `json:"message" validate:"required" doc:"Message (DBC name) that carries the checksum." example:"EngineData"`
	Signal  string `json:"signal" validate:"required" doc:"8-bit signal filling one byte that receives the checksum." example:"EngineData_CRC"`
	// Type is "crc8" (CRC-8 SAE J1850 over the payload), "e2e_p01"
	// (AUTOSAR E2E Profile 1) or "e2e_p02" (Profile 2). The E2E profiles
	// need a counter for the message.
	Type string `json:"type" validate:"required,oneof=crc8 e2e_p01 e2e_p02" doc:"crc8 (CRC-8 SAE J1850), e2e_p01 or e2e_p02 (AUTOSAR E2E Profile 1 or 2, which need a counter)."`
	// DataID is the data ID of the E2E profiles (16 bits for Profile 1,
	// 8 for Profile 2, where it serves every counter value).
	DataID hexid.ID `json:"data_id" doc:"Data ID of the E2E profile: 16 bits for Profile 1, 8 bits for Profile 2 (for every counter value)." example:"0x100"`
	// DataIDs is Profile 2's DataIDList: 16 data IDs, by counter value.
	DataIDs []hexid.ID `json:"data_ids,omitempty" doc:"Profile 2 DataIDList: 16 data IDs, one per counter value, instead of data_id."`
	// DataIDMode is Profile 1's: "both" (the default), "alt" or "low".
	DataIDMode string `json:"data_id_mode,omitempty" doc:"Profile 1 data ID mode: both, alt or low." default:"\"both\""`
}

// SetSignalArgs is the input of set_signal.
type SetSignalArgs struct {
	Message string  `json:"message" validate:"required" doc:"Rest-bus message (DBC name)." example:"ABS_Status"`
	Signal  string  `json:"signal" validate:"required" doc:"Signal of the message to set." example:"VehicleSpeed"`
	Value   float64 `json:"value" doc:"Physical value, in the signal's unit; out of the signal's range is an error." example:"50"`
	// Label, when set, is a name of the signal's value table ("Off"),
	// used instead of Value.
	Label string `json:"label,omitempty" doc:"Name from the signal's value table (e.g. Off), used instead of value; empty: value counts." example:""`
}

// RestbusStats describes one rest-bus message in Stats.
type RestbusStats struct {
	Message  string   `json:"message" doc:"Message (DBC name)."`
	ID       hexid.ID `json:"id" doc:"CAN identifier."`
	Extended bool     `json:"extended,omitempty" doc:"29-bit identifier."`
	CycleMS  float64  `json:"cycle_ms" doc:"Cycle time from the DBC, in ms."`
	Sent     uint64   `json:"sent" doc:"Frames of this message sent since the service started."`
}

// RestbusCatchUp is how late a rest-bus message may be and still send the
// frames of the deadlines it missed: after a stall of up to 250 ms each
// message catches up, so that its mean period stays its cycle time; after
// a longer one it skips the missed deadlines.
const RestbusCatchUp = 250 * time.Millisecond

// ErrNoSignal is returned (as a 400) by set_signal for a message or
// signal the rest-bus does not send.
var ErrNoSignal = errors.New("no such rest-bus signal")

// restbusRunner is the rest-bus mode.
type restbusRunner struct {
	s      *CANTrafficService
	db     *dbc.DB
	msgs   []*rbMsg
	byName map[string]*rbMsg
}

// rbMsg is one message of the rest-bus while the service runs.
type rbMsg struct {
	m       *dbc.Message
	every   time.Duration
	counter *dbc.Signal
	wrap    uint64 // counter modulus (max + 1), 0 for 2⁶⁴
	sumSig  *dbc.Signal
	sum     *checksum
	sent    atomic.Uint64

	mu     sync.Mutex
	values map[string]float64 // current physical values
	frame  can.Frame          // signals encoded; counter and checksum written per frame
	count  uint64             // counter value of the next frame
}

func newRestbusRunner(s *CANTrafficService, a *RestbusArgs) (*restbusRunner, error) {
	db, err := dbc.Load(a.DBC)
	if err != nil {
		return nil, fmt.Errorf("restbus: %w", err)
	}
	if len(a.Nodes) == 0 {
		return nil, errors.New("restbus: nodes: name at least one node of the DBC")
	}
	for _, n := range a.Nodes {
		if !slices.Contains(db.Nodes, n) {
			return nil, fmt.Errorf("restbus: nodes: %s is not a node of %s (it has %v)", n, a.DBC, db.Nodes)
		}
	}
	r := &restbusRunner{s: s, db: db, byName: map[string]*rbMsg{}}
	for _, m := range db.SentBy(a.Nodes...) {
		if len(a.Messages) > 0 && !slices.Contains(a.Messages, m.Name) {
			continue
		}
		if m.CycleTime <= 0 {
			if len(a.Messages) > 0 {
				return nil, fmt.Errorf("restbus: messages: %s has no cycle time (GenMsgCycleTime)", m.Name)
			}
			continue
		}
		rm := &rbMsg{m: m, every: m.CycleTime, values: m.StartValues()}
		r.msgs = append(r.msgs, rm)
		r.byName[m.Name] = rm
	}
	for _, name := range a.Messages {
		if r.byName[name] == nil {
			return nil, fmt.Errorf("restbus: messages: %s is not a message the nodes %v send", name, a.Nodes)
		}
	}
	if len(r.msgs) == 0 {
		return nil, fmt.Errorf("restbus: nodes %v send no cyclic message in %s", a.Nodes, a.DBC)
	}
	for i, c := range a.Counters {
		rm, sig, err := r.lookup(c.Message, c.Signal)
		if err != nil {
			return nil, fmt.Errorf("restbus: counters[%d]: %w", i, err)
		}
		if sig.Type != dbc.Integer {
			return nil, fmt.Errorf("restbus: counters[%d]: %s is not an integer signal", i, c.Signal)
		}
		if rm.counter != nil {
			return nil, fmt.Errorf("restbus: counters[%d]: %s has a counter already", i, c.Message)
		}
		top := uint64(1)<<sig.Size - 1
		if sig.Size >= 64 {
			top = ^uint64(0)
		}
		if c.Max != nil {
			if *c.Max > top {
				return nil, fmt.Errorf("restbus: counters[%d]: max %d exceeds the %d bits of %s", i, *c.Max, sig.Size, c.Signal)
			}
			top = *c.Max
		}
		rm.counter, rm.wrap = sig, top+1
	}
	for i, c := range a.Checksums {
		rm, sig, err := r.lookup(c.Message, c.Signal)
		if err != nil {
			return nil, fmt.Errorf("restbus: checksums[%d]: %w", i, err)
		}
		at, ok := byteOf(sig)
		if !ok {
			return nil, fmt.Errorf("restbus: checksums[%d]: %s must be an 8-bit signal filling one byte", i, c.Signal)
		}
		if rm.sum != nil {
			return nil, fmt.Errorf("restbus: checksums[%d]: %s has a checksum already", i, c.Message)
		}
		if rm.counter == sig {
			return nil, fmt.Errorf("restbus: checksums[%d]: %s is the counter", i, c.Signal)
		}
		sum, err := newChecksum(c, at, rm.counter != nil)
		if err != nil {
			return nil, fmt.Errorf("restbus: checksums[%d]: %w", i, err)
		}
		rm.sumSig, rm.sum = sig, sum
	}
	for _, rm := range r.msgs {
		f, err := rm.m.Encode(active(rm.m, rm.values))
		if err != nil {
			return nil, fmt.Errorf("restbus: start values: %w", err)
		}
		rm.frame = f
	}
	return r, nil
}

// valueNames lists the names of a signal's value table, by raw value.
func valueNames(s *dbc.Signal) []string {
	var names []string
	for _, raw := range slices.Sorted(maps.Keys(s.Values)) {
		names = append(names, s.Values[raw])
	}
	return names
}

// byteOf returns the byte an 8-bit, byte-aligned signal fills.
func byteOf(s *dbc.Signal) (int, bool) {
	if s.Size != 8 || s.Type != dbc.Integer {
		return 0, false
	}
	if s.BigEndian {
		return s.Start / 8, s.Start%8 == 7
	}
	return s.Start / 8, s.Start%8 == 0
}

func (r *restbusRunner) lookup(msg, sig string) (*rbMsg, *dbc.Signal, error) {
	rm := r.byName[msg]
	if rm == nil {
		return nil, nil, fmt.Errorf("message %s: %w (the rest-bus sends %v)", msg, ErrNoSignal, slices.Sorted(maps.Keys(r.byName)))
	}
	s, ok := rm.m.Signal(sig)
	if !ok {
		return nil, nil, fmt.Errorf("message %s has no signal %s: %w", msg, sig, ErrNoSignal)
	}
	return rm, s, nil
}

func (r *restbusRunner) mode() string { return ModeRestbus }

func (r *restbusRunner) prepare() (func(context.Context) string, error) {
	ps := make([]periodic, len(r.msgs))
	for i, m := range r.msgs {
		ps[i] = m
	}
	return func(ctx context.Context) string { runPeriodic(ctx, r.s, ps, RestbusCatchUp); return "" }, nil
}

func (r *restbusRunner) stats(st *Stats) {
	for _, rm := range r.msgs {
		st.Restbus = append(st.Restbus, RestbusStats{
			Message: rm.m.Name, ID: hexid.ID(rm.m.ID), Extended: rm.m.Extended,
			CycleMS: float64(rm.every) / float64(time.Millisecond), Sent: rm.sent.Load(),
		})
	}
}

// setSignal changes a signal's value for the message's next frames.
func (r *restbusRunner) setSignal(a SetSignalArgs) error {
	rm, sig, err := r.lookup(a.Message, a.Signal)
	if err != nil {
		return err
	}
	v := a.Value
	if a.Label != "" {
		var ok bool
		if v, ok = sig.ValueOf(a.Label); !ok {
			return fmt.Errorf("%s.%s has no value %q (its values: %v)", a.Message, a.Signal, a.Label, valueNames(sig))
		}
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if sig == rm.sumSig {
		return fmt.Errorf("%s.%s is the checksum, computed for every frame", a.Message, a.Signal)
	}
	if sig == rm.counter {
		raw, err := sig.RawOf(v)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Message, err)
		}
		if rm.wrap != 0 && raw >= rm.wrap {
			return fmt.Errorf("%s.%s: %v exceeds the counter's max %d", a.Message, a.Signal, v, rm.wrap-1)
		}
		rm.count = raw
		rm.values[sig.Name] = v
		return nil
	}
	values := maps.Clone(rm.values)
	values[a.Signal] = v
	if mux := rm.m.Multiplexer(); mux != nil && sig.Multiplexed {
		// Setting a multiplexed signal selects its multiplexer value.
		values[mux.Name] = mux.Value(sig.MuxValue)
	}
	f, err := rm.m.Encode(active(rm.m, values))
	if err != nil {
		return err
	}
	rm.frame, rm.values = f, values
	return nil
}

// active returns the values of the signals a frame carries with the
// multiplexer value in values: all of them without a multiplexer.
func active(m *dbc.Message, values map[string]float64) map[string]float64 {
	mux := m.Multiplexer()
	if mux == nil {
		return values
	}
	sel, err := mux.RawOf(values[mux.Name])
	if err != nil {
		return values // Encode reports it
	}
	out := make(map[string]float64, len(values))
	for _, s := range m.Signals {
		if v, ok := values[s.Name]; ok && (!s.Multiplexed || s.MuxValue == sel) {
			out[s.Name] = v
		}
	}
	return out
}

// signals returns a copy of the current values.
func (r *restbusRunner) signals() map[string]map[string]float64 {
	out := make(map[string]map[string]float64, len(r.msgs))
	for _, rm := range r.msgs {
		rm.mu.Lock()
		out[rm.m.Name] = maps.Clone(rm.values)
		rm.mu.Unlock()
	}
	return out
}

func (rm *rbMsg) period() time.Duration { return rm.every }
func (rm *rbMsg) sentOne()              { rm.sent.Add(1) }

// next returns the message's next frame: the current signals, the
// counter's next value and the checksum over them.
func (rm *rbMsg) next() can.Frame {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	f := rm.frame
	p := f.Data[:f.Len]
	cnt := rm.count
	if rm.counter != nil {
		rm.counter.SetRaw(p, cnt)
		rm.values[rm.counter.Name] = rm.counter.Value(cnt)
		rm.count = cnt + 1
		if rm.wrap != 0 {
			rm.count %= rm.wrap
		}
	}
	if rm.sum != nil {
		c := rm.sum.compute(p, cnt)
		rm.sumSig.SetRaw(p, uint64(c))
		rm.values[rm.sumSig.Name] = rm.sumSig.Value(uint64(c))
	}
	return f
}
