package dbc

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ValueType is how a signal's raw bits are read.
type ValueType uint8

// Value types (SIG_VALTYPE_).
const (
	Integer ValueType = iota // signed or unsigned integer (the default)
	Float32                  // IEEE 754 single precision, 32 bits
	Float64                  // IEEE 754 double precision, 64 bits
)

// ErrRange is wrapped by the errors for a value a signal cannot carry.
var ErrRange = errors.New("out of range")

// Signal is one signal of a message.
type Signal struct {
	Name string
	// Start is the start bit as the DBC writes it: the least significant
	// bit of an Intel signal, the most significant of a Motorola one.
	Start     int
	Size      int  // bits
	BigEndian bool // Motorola byte order (@0)
	Signed    bool
	Type      ValueType
	// Physical value = raw · Scale + Offset.
	Scale, Offset float64
	// Min and Max bound the physical value; both 0 means no bound but the
	// signal's width.
	Min, Max float64
	Unit     string
	// StartValue is the physical value of the signal's GenSigStartValue (a
	// raw value in the DBC); without one, the value of raw 0 moved into
	// [Min, Max].
	StartValue float64
	// Multiplexer marks the multiplexer switch (M); a Multiplexed signal
	// (mN) is in the frame only when the switch has the value MuxValue.
	Multiplexer bool
	Multiplexed bool
	MuxValue    uint64
	// Values names raw values (VAL_): 0 "Off", 1 "On".
	Values    map[int64]string
	Receivers []string
	Comment   string

	need int // bytes a payload needs to hold the signal
}

// Raw reads the signal's raw bits from data (which must hold the signal).
func (s *Signal) Raw(data []byte) uint64 {
	if s.BigEndian {
		return getBE(data, s.Start, s.Size)
	}
	return getLE(data, s.Start, s.Size)
}

// SetRaw writes the low Size bits of raw into data.
func (s *Signal) SetRaw(data []byte, raw uint64) {
	if s.BigEndian {
		setBE(data, s.Start, s.Size, raw)
	} else {
		setLE(data, s.Start, s.Size, raw)
	}
}

// Value returns the physical value of the raw bits.
func (s *Signal) Value(raw uint64) float64 {
	switch s.Type {
	case Float32:
		return float64(math.Float32frombits(uint32(raw)))*s.Scale + s.Offset
	case Float64:
		return math.Float64frombits(raw)*s.Scale + s.Offset
	}
	if s.Signed {
		return float64(signExtend(raw, s.Size))*s.Scale + s.Offset
	}
	return float64(raw)*s.Scale + s.Offset
}

// Decode returns the signal's physical value in data.
func (s *Signal) Decode(data []byte) float64 { return s.Value(s.Raw(data)) }

// Encode writes the physical value v into data, or returns an error
// naming the signal and its range when v is out of it.
func (s *Signal) Encode(data []byte, v float64) error {
	raw, err := s.RawOf(v)
	if err != nil {
		return err
	}
	s.SetRaw(data, raw)
	return nil
}

// RawOf converts a physical value to the signal's raw bits: integers are
// rounded to the nearest raw step. It fails for NaN, for a value outside
// [Min, Max] (when they are set) and for one the signal's width cannot
// carry.
func (s *Signal) RawOf(v float64) (uint64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("signal %s: %v: %w", s.Name, v, ErrRange)
	}
	if s.Min != 0 || s.Max != 0 {
		// A little slack for values printed with fewer decimals.
		eps := math.Abs(s.Scale) / 2
		if v < s.Min-eps || v > s.Max+eps {
			return 0, s.rangeError(v, s.Min, s.Max)
		}
	}
	r := (v - s.Offset) / s.Scale
	switch s.Type {
	case Float32:
		return uint64(math.Float32bits(float32(r))), nil
	case Float64:
		return math.Float64bits(r), nil
	}
	r = math.Round(r)
	lo, hi := s.rawBounds()
	if r < lo || r > hi {
		pl, ph := lo*s.Scale+s.Offset, hi*s.Scale+s.Offset
		if pl > ph {
			pl, ph = ph, pl
		}
		return 0, s.rangeError(v, pl, ph)
	}
	// float64 cannot hold 2⁶³-1 or 2⁶⁴-1: the top of a 64-bit range
	// rounds up to a power of two that the integer cannot take.
	if s.Signed {
		if r >= math.Ldexp(1, 63) {
			return math.MaxInt64 & s.mask(), nil
		}
		return uint64(int64(r)) & s.mask(), nil
	}
	if r >= math.Ldexp(1, 64) {
		return math.MaxUint64, nil
	}
	return uint64(r), nil
}

// rawBounds is the raw range of an integer signal.
func (s *Signal) rawBounds() (lo, hi float64) {
	if s.Signed {
		return -math.Ldexp(1, s.Size-1), math.Ldexp(1, s.Size-1) - 1
	}
	return 0, math.Ldexp(1, s.Size) - 1
}

func (s *Signal) mask() uint64 {
	if s.Size >= 64 {
		return math.MaxUint64
	}
	return 1<<s.Size - 1
}

func (s *Signal) rangeError(v, lo, hi float64) error {
	unit := ""
	if s.Unit != "" {
		unit = " " + s.Unit
	}
	return fmt.Errorf("signal %s: %s%s %w [%s, %s]", s.Name, fmtNum(v), unit, ErrRange, fmtNum(lo), fmtNum(hi))
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ValueName returns the name the value table gives the physical value v.
func (s *Signal) ValueName(v float64) (string, bool) {
	if s.Values == nil || s.Type != Integer {
		return "", false
	}
	r := math.Round((v - s.Offset) / s.Scale)
	name, ok := s.Values[int64(r)]
	return name, ok
}

// ValueOf returns the physical value the value table names name.
func (s *Signal) ValueOf(name string) (float64, bool) {
	for raw, n := range s.Values {
		if n == name {
			return float64(raw)*s.Scale + s.Offset, true
		}
	}
	return 0, false
}

// defaultStart is the value of raw 0, moved into [Min, Max] when set.
func (s *Signal) defaultStart() float64 {
	v := s.Offset
	if s.Min != 0 || s.Max != 0 {
		v = max(s.Min, min(s.Max, v))
	}
	return v
}
