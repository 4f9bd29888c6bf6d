package dbc

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	edbc "go.einride.tech/can/pkg/dbc"

	"github.com/bgkit/bgkit/can"
)

// DB is a parsed DBC file: its nodes and messages. It is read-only after
// Parse and safe for concurrent use.
type DB struct {
	// Name is the file name given to Load or Parse.
	Name string
	// Nodes are the nodes of BU_.
	Nodes []string
	// Messages are in the order of the file.
	Messages []*Message

	byName map[string]*Message
	byID   map[uint32]*Message // key: ID | 1<<31 for extended
}

// Load reads and parses a DBC file.
func Load(path string) (*DB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dbc: %w", err)
	}
	return Parse(path, data)
}

// Parse parses the text of a DBC file; name is used in errors. Besides
// messages and signals it reads SIG_VALTYPE_, VAL_, CM_, BO_TX_BU_ and the
// attributes GenMsgCycleTime, GenSigStartValue, VFrameFormat and
// CANFD_BRS. A signal that does not fit its message, or a float signal
// of the wrong width, is an error.
func Parse(name string, data []byte) (*DB, error) {
	p := edbc.NewParser(name, data)
	if perr := p.Parse(); perr != nil {
		return nil, fmt.Errorf("dbc: %w", perr)
	}
	defs := p.Defs()
	db := &DB{Name: name, byName: map[string]*Message{}, byID: map[uint32]*Message{}}
	byDBCID := map[edbc.MessageID]*Message{}
	attrs := newAttributes(defs)

	for _, d := range defs {
		switch d := d.(type) {
		case *edbc.NodesDef:
			for _, n := range d.NodeNames {
				db.Nodes = append(db.Nodes, string(n))
			}
		case *edbc.MessageDef:
			if d.Name == edbc.IndependentSignalsMessageName {
				continue
			}
			if err := d.MessageID.Validate(); err != nil {
				return nil, fmt.Errorf("dbc: %s: message %s: %w", name, d.Name, err)
			}
			m, err := newMessage(d)
			if err != nil {
				return nil, fmt.Errorf("dbc: %s: %w", name, err)
			}
			if _, dup := db.byName[m.Name]; dup {
				return nil, fmt.Errorf("dbc: %s: message %s defined twice", name, m.Name)
			}
			key := idKey(m.ID, m.Extended)
			if o, dup := db.byID[key]; dup {
				return nil, fmt.Errorf("dbc: %s: messages %s and %s have the same id %#x", name, o.Name, m.Name, m.ID)
			}
			db.Messages = append(db.Messages, m)
			db.byName[m.Name], db.byID[key], byDBCID[d.MessageID] = m, m, m
		}
	}

	sig := func(id edbc.MessageID, sname edbc.Identifier) *Signal {
		if m := byDBCID[id]; m != nil {
			return m.byName[string(sname)]
		}
		return nil
	}
	for _, d := range defs {
		switch d := d.(type) {
		case *edbc.SignalValueTypeDef:
			s := sig(d.MessageID, d.SignalName)
			if s == nil {
				continue
			}
			switch d.SignalValueType {
			case edbc.SignalValueTypeFloat32:
				s.Type = Float32
			case edbc.SignalValueTypeFloat64:
				s.Type = Float64
			}
		case *edbc.ValueDescriptionsDef:
			if d.ObjectType != edbc.ObjectTypeSignal {
				continue
			}
			if s := sig(d.MessageID, d.SignalName); s != nil {
				s.Values = map[int64]string{}
				for _, v := range d.ValueDescriptions {
					s.Values[int64(v.Value)] = v.Description
				}
			}
		case *edbc.CommentDef:
			switch d.ObjectType {
			case edbc.ObjectTypeMessage:
				if m := byDBCID[d.MessageID]; m != nil {
					m.Comment = d.Comment
				}
			case edbc.ObjectTypeSignal:
				if s := sig(d.MessageID, d.SignalName); s != nil {
					s.Comment = d.Comment
				}
			}
		case *edbc.MessageTransmittersDef:
			if m := byDBCID[d.MessageID]; m != nil {
				for _, t := range d.Transmitters {
					if !slices.Contains(m.Senders, string(t)) {
						m.Senders = append(m.Senders, string(t))
					}
				}
			}
		}
	}

	for id, m := range byDBCID {
		if v, ok := attrs.message("GenMsgCycleTime", id); ok && v.num > 0 {
			m.CycleTime = time.Duration(v.num * float64(time.Millisecond))
		}
		if v, ok := attrs.message("VFrameFormat", id); ok {
			if v.str == "StandardCAN_FD" || v.str == "ExtendedCAN_FD" {
				m.FD = true
			}
		}
		if m.FD {
			if v, ok := attrs.message("CANFD_BRS", id); ok {
				m.BRS = v.str == "1" || v.num == 1
			}
		}
		for _, s := range m.Signals {
			if err := checkSignal(m, s); err != nil {
				return nil, fmt.Errorf("dbc: %s: %w", name, err)
			}
			s.StartValue = s.defaultStart()
			if v, ok := attrs.sig["GenSigStartValue"][sigKey{id, s.Name}]; ok {
				// Set for this signal: a raw value, as Vector writes it.
				s.StartValue = v.num*s.Scale + s.Offset
			}
		}
	}
	return db, nil
}

func idKey(id uint32, extended bool) uint32 {
	if extended {
		return id | 1<<31
	}
	return id
}

func newMessage(d *edbc.MessageDef) (*Message, error) {
	m := &Message{
		Name:     string(d.Name),
		ID:       d.MessageID.ToCAN(),
		Extended: d.MessageID.IsExtended(),
		Length:   int(d.Size),
		FD:       d.Size > can.MaxClassicLen,
		byName:   map[string]*Signal{},
	}
	if d.Size > can.MaxFDLen {
		return nil, fmt.Errorf("message %s: length %d exceeds 64 bytes", m.Name, d.Size)
	}
	if t := string(d.Transmitter); t != "" && t != "Vector__XXX" {
		m.Transmitter = t
		m.Senders = []string{t}
	}
	for i := range d.Signals {
		sd := &d.Signals[i]
		s := &Signal{
			Name:        string(sd.Name),
			Start:       int(sd.StartBit),
			Size:        int(sd.Size),
			BigEndian:   sd.IsBigEndian,
			Signed:      sd.IsSigned,
			Scale:       sd.Factor,
			Offset:      sd.Offset,
			Min:         sd.Minimum,
			Max:         sd.Maximum,
			Unit:        sd.Unit,
			Multiplexer: sd.IsMultiplexerSwitch,
			Multiplexed: sd.IsMultiplexed,
			MuxValue:    sd.MultiplexerSwitch,
		}
		if s.Scale == 0 {
			s.Scale = 1
		}
		for _, r := range sd.Receivers {
			if r != "Vector__XXX" {
				s.Receivers = append(s.Receivers, string(r))
			}
		}
		if _, dup := m.byName[s.Name]; dup {
			return nil, fmt.Errorf("message %s: signal %s defined twice", m.Name, s.Name)
		}
		if s.Multiplexer {
			if m.mux != nil {
				return nil, fmt.Errorf("message %s: two multiplexers, %s and %s (only simple multiplexing is supported)", m.Name, m.mux.Name, s.Name)
			}
			m.mux = s
		}
		m.byName[s.Name] = s
		m.Signals = append(m.Signals, s)
	}
	for _, s := range m.Signals {
		if s.Multiplexed && m.mux == nil {
			return nil, fmt.Errorf("message %s: signal %s is multiplexed but there is no multiplexer", m.Name, s.Name)
		}
	}
	return m, nil
}

// checkSignal checks a signal against its message once its value type is
// known.
func checkSignal(m *Message, s *Signal) error {
	switch {
	case s.Type == Float32 && s.Size != 32:
		return fmt.Errorf("message %s: signal %s: a float has 32 bits, not %d", m.Name, s.Name, s.Size)
	case s.Type == Float64 && s.Size != 64:
		return fmt.Errorf("message %s: signal %s: a double has 64 bits, not %d", m.Name, s.Name, s.Size)
	case s.Multiplexer && s.Type != Integer:
		return fmt.Errorf("message %s: multiplexer %s is not an integer", m.Name, s.Name)
	}
	_, hi, ok := span(s.Start, s.Size, s.BigEndian, m.Length)
	if !ok {
		return fmt.Errorf("message %s: signal %s (start %d, %d bits) does not fit in %d bytes", m.Name, s.Name, s.Start, s.Size, m.Length)
	}
	s.need = hi + 1
	return nil
}

// Message returns the message called name.
func (db *DB) Message(name string) (*Message, bool) {
	m, ok := db.byName[name]
	return m, ok
}

// MessageByID returns the message with a CAN identifier.
func (db *DB) MessageByID(id uint32, extended bool) (*Message, bool) {
	m, ok := db.byID[idKey(id, extended)]
	return m, ok
}

// SentBy returns the messages any of nodes transmits, in file order.
func (db *DB) SentBy(nodes ...string) []*Message {
	var ms []*Message
	for _, m := range db.Messages {
		for _, n := range nodes {
			if m.SentBy(n) {
				ms = append(ms, m)
				break
			}
		}
	}
	return ms
}

// ErrNoMessage is wrapped by the error of Encode for a name the DBC does
// not define.
var ErrNoMessage = errors.New("no such message")

// Encode returns the frame of the message called name carrying values
// (see Message.Encode).
func (db *DB) Encode(name string, values map[string]float64) (can.Frame, error) {
	m, ok := db.byName[name]
	if !ok {
		return can.Frame{}, fmt.Errorf("dbc: encode %s: %w in %s", name, ErrNoMessage, db.Name)
	}
	return m.Encode(values)
}

// Decode decodes a frame of a message of the DBC; ok is false for a frame
// of any other identifier, and for remote frames.
func (db *DB) Decode(f can.Frame) (Decoded, bool) {
	m, ok := db.byID[idKey(f.ID, f.Extended)]
	if !ok || f.Remote {
		return Decoded{}, false
	}
	return Decoded{Name: m.Name, Message: m, Signals: m.Decode(f.Data[:min(int(f.Len), len(f.Data))])}, true
}

// attribute is the value of an attribute for one object.
type attribute struct {
	num float64 // INT, HEX, FLOAT
	str string  // STRING, ENUM
}

// attributes holds the definitions, defaults and values of BA_DEF_,
// BA_DEF_DEF_ and BA_.
type attributes struct {
	types    map[string]edbc.AttributeValueType
	defaults map[string]attribute
	msg      map[string]map[edbc.MessageID]attribute
	sig      map[string]map[sigKey]attribute
}

type sigKey struct {
	id   edbc.MessageID
	name string
}

func newAttributes(defs []edbc.Def) *attributes {
	a := &attributes{
		types:    map[string]edbc.AttributeValueType{},
		defaults: map[string]attribute{},
		msg:      map[string]map[edbc.MessageID]attribute{},
		sig:      map[string]map[sigKey]attribute{},
	}
	value := func(name string, i int64, f float64, s string) attribute {
		switch a.types[name] {
		case edbc.AttributeValueTypeInt, edbc.AttributeValueTypeHex:
			return attribute{num: float64(i)}
		case edbc.AttributeValueTypeFloat:
			return attribute{num: f}
		}
		return attribute{str: s}
	}
	for _, d := range defs {
		switch d := d.(type) {
		case *edbc.AttributeDef:
			a.types[string(d.Name)] = d.Type
		case *edbc.AttributeDefaultValueDef:
			n := string(d.AttributeName)
			a.defaults[n] = value(n, d.DefaultIntValue, d.DefaultFloatValue, d.DefaultStringValue)
		case *edbc.AttributeValueForObjectDef:
			n := string(d.AttributeName)
			v := value(n, d.IntValue, d.FloatValue, d.StringValue)
			switch d.ObjectType {
			case edbc.ObjectTypeMessage:
				if a.msg[n] == nil {
					a.msg[n] = map[edbc.MessageID]attribute{}
				}
				a.msg[n][d.MessageID] = v
			case edbc.ObjectTypeSignal:
				if a.sig[n] == nil {
					a.sig[n] = map[sigKey]attribute{}
				}
				a.sig[n][sigKey{d.MessageID, string(d.SignalName)}] = v
			}
		}
	}
	return a
}

func (a *attributes) message(name string, id edbc.MessageID) (attribute, bool) {
	if v, ok := a.msg[name][id]; ok {
		return v, true
	}
	v, ok := a.defaults[name]
	return v, ok
}
