package can

import (
	"errors"
	"fmt"
)

// CAN identifier and length limits.
const (
	MaxID         = 0x7FF      // largest 11-bit (standard) identifier
	MaxExtendedID = 0x1FFFFFFF // largest 29-bit (extended) identifier
	MaxClassicLen = 8          // payload bytes of a classic frame
	MaxFDLen      = 64         // payload bytes of a CAN FD frame
	MaxRemoteLen  = 15         // largest DLC a remote frame may request
)

// ErrInvalidFrame is wrapped by every error Validate returns.
var ErrInvalidFrame = errors.New("invalid CAN frame")

// Frame is a classic CAN or CAN FD frame. It is a small value: copy it freely.
//
// Len is the payload length. For a remote frame (classic only) Data is unused
// and Len is the requested length (the DLC).
type Frame struct {
	ID       uint32 // 11-bit, or 29-bit when Extended
	Len      uint8  // payload length: 0–8 classic, 0–64 FD (one of the FD lengths)
	Extended bool   // 29-bit identifier
	Remote   bool   // remote transmission request (classic only)
	FD       bool   // CAN FD frame
	BRS      bool   // FD bit rate switch
	ESI      bool   // FD error state indicator
	Data     [MaxFDLen]byte
}

// Payload returns the frame's data bytes (a slice of f.Data; empty for remote frames).
func (f *Frame) Payload() []byte {
	if f.Remote {
		return nil
	}
	return f.Data[:min(f.Len, MaxFDLen)]
}

// SetPayload copies p into the frame and sets Len. It does not validate.
func (f *Frame) SetPayload(p []byte) {
	f.Len = uint8(copy(f.Data[:], p))
}

// fdLens are the payload lengths a CAN FD frame can carry (DLC 0–15).
var fdLens = [16]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64}

// FDLen returns the smallest valid CAN FD length that holds n bytes, or 0 and
// false when n exceeds 64.
func FDLen(n int) (uint8, bool) {
	for _, l := range fdLens {
		if int(l) >= n {
			return l, true
		}
	}
	return 0, false
}

// DLC returns the data length code of the frame (0–15).
func (f *Frame) DLC() uint8 {
	if !f.FD {
		return f.Len
	}
	for i, l := range fdLens {
		if l == f.Len {
			return uint8(i)
		}
	}
	return 15
}

// Validate reports whether the frame could appear on a bus.
func (f *Frame) Validate() error {
	switch {
	case f.Extended && f.ID > MaxExtendedID:
		return fmt.Errorf("%w: extended id %#x exceeds 29 bits", ErrInvalidFrame, f.ID)
	case !f.Extended && f.ID > MaxID:
		return fmt.Errorf("%w: standard id %#x exceeds 11 bits", ErrInvalidFrame, f.ID)
	case f.FD && f.Remote:
		return fmt.Errorf("%w: CAN FD has no remote frames", ErrInvalidFrame)
	case !f.FD && (f.BRS || f.ESI):
		return fmt.Errorf("%w: BRS/ESI flags on a classic frame", ErrInvalidFrame)
	case f.Remote && f.Len > MaxRemoteLen:
		return fmt.Errorf("%w: remote frame length %d exceeds 15", ErrInvalidFrame, f.Len)
	case !f.FD && !f.Remote && f.Len > MaxClassicLen:
		return fmt.Errorf("%w: classic frame length %d exceeds 8", ErrInvalidFrame, f.Len)
	case f.FD && f.Len > MaxFDLen:
		return fmt.Errorf("%w: FD frame length %d exceeds 64", ErrInvalidFrame, f.Len)
	case f.FD:
		if l, _ := FDLen(int(f.Len)); l != f.Len {
			return fmt.Errorf("%w: %d is not a CAN FD length (use %d)", ErrInvalidFrame, f.Len, l)
		}
	}
	return nil
}
