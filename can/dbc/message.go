package dbc

import (
	"fmt"
	"time"

	"github.com/bgkit/bgkit/can"
)

// Message is one message (BO_) of a DBC file.
type Message struct {
	Name string
	// ID is the CAN identifier, without the extended flag.
	ID uint32
	// Extended is bit 31 of the DBC message ID, as Vector tools write a
	// 29-bit identifier.
	Extended bool
	// Length is the payload length the DBC gives, in bytes.
	Length int
	// FD is set when VFrameFormat is StandardCAN_FD or ExtendedCAN_FD, or
	// Length exceeds 8; BRS when such a message's CANFD_BRS is "1".
	FD, BRS bool
	// CycleTime is GenMsgCycleTime; 0 for a message not sent cyclically.
	CycleTime time.Duration
	// Transmitter is the node of the BO_ line; Senders adds those of
	// BO_TX_BU_.
	Transmitter string
	Senders     []string
	Signals     []*Signal
	Comment     string

	mux    *Signal
	byName map[string]*Signal
}

// Decoded is a frame decoded with its message.
type Decoded struct {
	Name    string
	Message *Message
	// Signals holds the physical value of every signal the frame carries:
	// the multiplexed ones only for the multiplexer's value.
	Signals map[string]float64
}

// Signal returns the signal called name.
func (m *Message) Signal(name string) (*Signal, bool) {
	s, ok := m.byName[name]
	return s, ok
}

// Multiplexer returns the multiplexer switch, or nil.
func (m *Message) Multiplexer() *Signal { return m.mux }

// SentBy reports whether node transmits the message.
func (m *Message) SentBy(node string) bool {
	for _, s := range m.Senders {
		if s == node {
			return true
		}
	}
	return false
}

// StartValues returns the start value of every signal.
func (m *Message) StartValues() map[string]float64 {
	v := make(map[string]float64, len(m.Signals))
	for _, s := range m.Signals {
		v[s.Name] = s.StartValue
	}
	return v
}

// FrameLen is the payload length of the message's frames: Length, rounded
// up to a CAN FD length for FD messages.
func (m *Message) FrameLen() int {
	if m.FD {
		n, _ := can.FDLen(m.Length)
		return int(n)
	}
	return m.Length
}

// Frame returns a frame of the message with an all-zero payload.
func (m *Message) Frame() can.Frame {
	return can.Frame{ID: m.ID, Extended: m.Extended, FD: m.FD, BRS: m.BRS, Len: uint8(m.FrameLen())}
}

// Encode returns the frame carrying values; a signal missing from values
// takes its start value. With a multiplexer, only the signals of its value
// are written, and a value for another one is an error.
func (m *Message) Encode(values map[string]float64) (can.Frame, error) {
	f := m.Frame()
	if err := m.EncodePayload(f.Data[:f.Len], values); err != nil {
		return can.Frame{}, err
	}
	return f, nil
}

// EncodePayload writes values into data, which holds at least Length
// bytes, as Encode does; bits of no signal are left as they are.
func (m *Message) EncodePayload(data []byte, values map[string]float64) error {
	if len(data) < m.Length {
		return fmt.Errorf("dbc: encode %s: %d bytes, want %d", m.Name, len(data), m.Length)
	}
	for name := range values {
		if _, ok := m.byName[name]; !ok {
			return fmt.Errorf("dbc: encode %s: no signal %s", m.Name, name)
		}
	}
	var muxRaw uint64
	if m.mux != nil {
		v, ok := values[m.mux.Name]
		if !ok {
			v = m.mux.StartValue
		}
		raw, err := m.mux.RawOf(v)
		if err != nil {
			return fmt.Errorf("dbc: encode %s: %w", m.Name, err)
		}
		muxRaw = raw
	}
	for _, s := range m.Signals {
		v, ok := values[s.Name]
		if s.Multiplexed && s.MuxValue != muxRaw {
			if ok {
				return fmt.Errorf("dbc: encode %s: signal %s is sent with %s = %d, not %d", m.Name, s.Name, m.mux.Name, s.MuxValue, muxRaw)
			}
			continue
		}
		if !ok {
			v = s.StartValue
		}
		if err := s.Encode(data, v); err != nil {
			return fmt.Errorf("dbc: encode %s: %w", m.Name, err)
		}
	}
	return nil
}

// Decode returns the physical values data carries. A signal that does
// not fit in data (a short frame) is left out.
func (m *Message) Decode(data []byte) map[string]float64 {
	v := make(map[string]float64, len(m.Signals))
	m.DecodeInto(data, v)
	return v
}

// DecodeInto stores the values data carries in dst, as Decode does, and
// returns how many it stored.
func (m *Message) DecodeInto(data []byte, dst map[string]float64) int {
	var muxRaw uint64
	if m.mux != nil {
		if !fits(m.mux, len(data)) {
			return 0
		}
		muxRaw = m.mux.Raw(data)
	}
	n := 0
	for _, s := range m.Signals {
		if s.Multiplexed && s.MuxValue != muxRaw || !fits(s, len(data)) {
			continue
		}
		dst[s.Name] = s.Decode(data)
		n++
	}
	return n
}

// fits reports whether s lies within n bytes.
func fits(s *Signal, n int) bool { return s.need <= n }
