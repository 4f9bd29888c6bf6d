package isotp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// PDUType is the kind of an ISO-TP protocol data unit: the high nibble of
// its first protocol control information (PCI) byte.
type PDUType uint8

// The four PDU types.
const (
	SingleFrame      PDUType = 0 // SF: a whole message in one frame
	FirstFrame       PDUType = 1 // FF: the length and first bytes of a segmented message
	ConsecutiveFrame PDUType = 2 // CF: the following bytes, with a sequence number
	FlowControl      PDUType = 3 // FC: the receiver's pacing for the sender
)

func (t PDUType) String() string {
	switch t {
	case SingleFrame:
		return "SF"
	case FirstFrame:
		return "FF"
	case ConsecutiveFrame:
		return "CF"
	case FlowControl:
		return "FC"
	}
	return fmt.Sprintf("PDUType(%d)", uint8(t))
}

// FlowStatus is the FS field of a flow control frame.
type FlowStatus uint8

// The flow statuses defined by ISO 15765-2; 3–15 are reserved.
const (
	FlowContinue FlowStatus = 0 // CTS: send the next block
	FlowWait     FlowStatus = 1 // WAIT: wait for another flow control frame
	FlowOverflow FlowStatus = 2 // OVFLW: the message is too large; abort
)

func (s FlowStatus) String() string {
	switch s {
	case FlowContinue:
		return "CTS"
	case FlowWait:
		return "WAIT"
	case FlowOverflow:
		return "OVFLW"
	}
	return fmt.Sprintf("FS(%d)", uint8(s))
}

// STmin is the separation time byte of a flow control frame: the least time
// the sender leaves between two consecutive frames.
//
//	0x00–0x7F  0–127 ms
//	0xF1–0xF9  100–900 µs
//	others     reserved; read as 127 ms, as the standard asks
type STmin uint8

// Duration returns the separation time s stands for.
func (s STmin) Duration() time.Duration {
	switch {
	case s <= 0x7F:
		return time.Duration(s) * time.Millisecond
	case s >= 0xF1 && s <= 0xF9:
		return time.Duration(s-0xF0) * 100 * time.Microsecond
	}
	return 127 * time.Millisecond
}

func (s STmin) String() string { return s.Duration().String() }

// STminFromDuration returns the smallest STmin that is at least d: below
// 1 ms in steps of 100 µs, above in steps of 1 ms, at most 127 ms.
func STminFromDuration(d time.Duration) STmin {
	switch {
	case d <= 0:
		return 0
	case d <= 900*time.Microsecond:
		return STmin(0xF0 + (d+100*time.Microsecond-1)/(100*time.Microsecond))
	case d >= 127*time.Millisecond:
		return 0x7F
	}
	return STmin((d + time.Millisecond - 1) / time.Millisecond)
}

// Size limits of PDUs.
const (
	// MaxPDULen is the length of the longest PDU: a CAN FD frame's 64 bytes.
	MaxPDULen = 64
	// MaxClassicSFLen is the most data a single frame with a 4-bit SF_DL
	// carries (one less with extended or mixed addressing).
	MaxClassicSFLen = 7
	// MaxFFLen12 is the largest message length a first frame encodes in
	// 12 bits; longer messages use the escape form with a 32-bit length.
	MaxFFLen12 = 0xFFF
)

// PDU is one ISO-TP protocol data unit: the bytes of a CAN frame after the
// address byte (if the addressing mode has one), without padding. It is a
// small value; which fields are used depends on Type:
//
//	SingleFrame       Data (1–62 bytes), Escape
//	FirstFrame        Length, Data (the bytes this frame carries), Escape
//	ConsecutiveFrame  SeqNum, Data
//	FlowControl       Status, BlockSize, STmin
//
// Data of a consecutive or first frame is everything after the PCI, so it
// includes any padding of a last consecutive frame; the receiver knows
// from the message length how much of it to take.
type PDU struct {
	Type PDUType
	// Escape selects the escape form: a single frame with SF_DL 0 and the
	// length in the next byte (CAN FD), a first frame with FF_DL 0 and a
	// 32-bit length. Encoding uses it on its own where a length needs it
	// (single frames above 7 bytes, messages above 4095 bytes); decoding
	// sets it when the frame used the escape form.
	Escape    bool
	Length    uint32     // FF: the message length FF_DL
	SeqNum    uint8      // CF: sequence number 0–15
	Status    FlowStatus // FC: flow status
	BlockSize uint8      // FC: CFs before the next FC; 0 = all
	STmin     STmin      // FC: separation time
	Data      []byte
}

// DecodePDU decodes b, the bytes of a frame after the address byte. Data
// in the result aliases b. Extra bytes after a single or flow control frame
// are padding and are ignored.
func DecodePDU(b []byte) (PDU, error) {
	p, err := decodePDU(b)
	if err != nil {
		return PDU{}, fmt.Errorf("isotp decode: %w", err)
	}
	return p, nil
}

func decodePDU(b []byte) (PDU, error) {
	if len(b) == 0 {
		return PDU{}, fmt.Errorf("%w: no PCI byte", ErrTruncated)
	}
	if len(b) > MaxPDULen {
		return PDU{}, fmt.Errorf("%w: %d bytes exceed a CAN FD frame", ErrWrongLength, len(b))
	}
	switch t := PDUType(b[0] >> 4); t {
	case SingleFrame:
		n, off, esc := int(b[0]&0x0F), 1, false
		if n == 0 {
			if len(b) < 2 {
				return PDU{}, fmt.Errorf("%w: SF escape without length byte", ErrTruncated)
			}
			n, off, esc = int(b[1]), 2, true
			if n == 0 {
				return PDU{}, fmt.Errorf("%w: SF_DL 0", ErrWrongLength)
			}
		} else if n > MaxClassicSFLen {
			return PDU{}, fmt.Errorf("%w: SF_DL %d exceeds 7", ErrWrongLength, n)
		}
		if n > len(b)-off {
			return PDU{}, fmt.Errorf("%w: SF_DL %d, %d data bytes", ErrTruncated, n, len(b)-off)
		}
		return PDU{Type: t, Escape: esc, Data: b[off : off+n]}, nil
	case FirstFrame:
		if len(b) < 2 {
			return PDU{}, fmt.Errorf("%w: FF without length", ErrTruncated)
		}
		l, off, esc := uint32(b[0]&0x0F)<<8|uint32(b[1]), 2, false
		if l == 0 {
			if len(b) < 6 {
				return PDU{}, fmt.Errorf("%w: FF escape without 32-bit length", ErrTruncated)
			}
			l, off, esc = binary.BigEndian.Uint32(b[2:6]), 6, true
		}
		if len(b) == off {
			return PDU{}, fmt.Errorf("%w: FF without data", ErrTruncated)
		}
		if uint64(l) <= uint64(len(b)-off) {
			return PDU{}, fmt.Errorf("%w: FF_DL %d fits in the first frame", ErrWrongLength, l)
		}
		return PDU{Type: t, Escape: esc, Length: l, Data: b[off:]}, nil
	case ConsecutiveFrame:
		if len(b) < 2 {
			return PDU{}, fmt.Errorf("%w: CF without data", ErrTruncated)
		}
		return PDU{Type: t, SeqNum: b[0] & 0x0F, Data: b[1:]}, nil
	case FlowControl:
		if len(b) < 3 {
			return PDU{}, fmt.Errorf("%w: FC of %d bytes", ErrTruncated, len(b))
		}
		fs := FlowStatus(b[0] & 0x0F)
		if fs > FlowOverflow {
			return PDU{}, fmt.Errorf("%w: %d", ErrInvalidFlowStatus, fs)
		}
		return PDU{Type: t, Status: fs, BlockSize: b[1], STmin: STmin(b[2])}, nil
	default:
		return PDU{}, fmt.Errorf("%w: PCI %#02x", ErrUnknownPDU, b[0])
	}
}

// UnmarshalBinary decodes b like DecodePDU, copying the data.
func (p *PDU) UnmarshalBinary(b []byte) error {
	q, err := DecodePDU(b)
	if err != nil {
		return err
	}
	if q.Data != nil {
		q.Data = append([]byte(nil), q.Data...)
	}
	*p = q
	return nil
}

// MarshalBinary encodes p without padding.
func (p PDU) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, 8))
}

// Validate reports whether p can be encoded.
func (p PDU) Validate() error {
	var buf [MaxPDULen]byte
	_, err := p.AppendBinary(buf[:0])
	return err
}

// AppendBinary appends the encoding of p to b.
func (p PDU) AppendBinary(b []byte) ([]byte, error) {
	out, err := p.append(b)
	if err != nil {
		return b, fmt.Errorf("isotp encode %v: %w", p.Type, err)
	}
	return out, nil
}

func (p PDU) append(b []byte) ([]byte, error) {
	n := len(p.Data)
	switch p.Type {
	case SingleFrame:
		switch {
		case n == 0:
			return b, fmt.Errorf("%w: no data", ErrWrongLength)
		case !p.Escape && n <= MaxClassicSFLen:
			b = append(b, byte(n))
		case n <= MaxPDULen-2:
			b = append(b, 0, byte(n))
		default:
			return b, fmt.Errorf("%w: %d bytes exceed a single frame", ErrWrongLength, n)
		}
	case FirstFrame:
		pci := 2
		if p.Escape || p.Length > MaxFFLen12 {
			pci = 6
		}
		switch {
		case n == 0:
			return b, fmt.Errorf("%w: no data", ErrWrongLength)
		case pci+n > MaxPDULen:
			return b, fmt.Errorf("%w: %d bytes exceed a frame", ErrWrongLength, n)
		case uint64(p.Length) <= uint64(n):
			return b, fmt.Errorf("%w: FF_DL %d fits in the first frame", ErrWrongLength, p.Length)
		}
		if pci == 2 {
			b = append(b, 0x10|byte(p.Length>>8), byte(p.Length))
		} else {
			b = append(b, 0x10, 0)
			b = binary.BigEndian.AppendUint32(b, p.Length)
		}
	case ConsecutiveFrame:
		switch {
		case p.SeqNum > 0x0F:
			return b, fmt.Errorf("%w: %d exceeds 15", ErrWrongSequence, p.SeqNum)
		case n == 0:
			return b, fmt.Errorf("%w: no data", ErrWrongLength)
		case 1+n > MaxPDULen:
			return b, fmt.Errorf("%w: %d bytes exceed a frame", ErrWrongLength, n)
		}
		b = append(b, 0x20|p.SeqNum)
	case FlowControl:
		if p.Status > FlowOverflow {
			return b, fmt.Errorf("%w: %d", ErrInvalidFlowStatus, p.Status)
		}
		return append(b, 0x30|byte(p.Status), p.BlockSize, byte(p.STmin)), nil
	default:
		return b, ErrUnknownPDU
	}
	return append(b, p.Data...), nil
}

// String formats p for logs, e.g. "SF 3E80", "FF len=20 ...", "CF sn=1 ...",
// "FC CTS bs=0 stmin=0s".
func (p PDU) String() string {
	switch p.Type {
	case SingleFrame:
		return fmt.Sprintf("SF %s", hex.EncodeToString(p.Data))
	case FirstFrame:
		return fmt.Sprintf("FF len=%d %s", p.Length, hex.EncodeToString(p.Data))
	case ConsecutiveFrame:
		return fmt.Sprintf("CF sn=%d %s", p.SeqNum, hex.EncodeToString(p.Data))
	case FlowControl:
		return fmt.Sprintf("FC %v bs=%d stmin=%v", p.Status, p.BlockSize, p.STmin)
	}
	return p.Type.String()
}
