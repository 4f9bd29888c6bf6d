package isotp

import (
	"fmt"
	"time"

	"github.com/bgkit/bgkit/can"
)

// Addressing is how a frame carries the network address information (N_AI).
type Addressing uint8

// The addressing modes of ISO 15765-2.
const (
	// NormalAddressing: the CAN identifiers TxID and RxID alone address the
	// peers; all data bytes are ISO-TP.
	NormalAddressing Addressing = iota
	// NormalFixedAddressing: 29-bit identifiers 0x18DA<TA><SA> (physical)
	// and 0x18DB<TA><SA> (functional) built from TargetAddress and
	// SourceAddress; TxID and RxID are not used.
	NormalFixedAddressing
	// ExtendedAddressing: the first data byte of every frame is the target
	// address: TargetAddress in frames sent, SourceAddress in frames received.
	ExtendedAddressing
	// MixedAddressing: the first data byte of every frame is
	// AddressExtension. With 11-bit identifiers TxID and RxID are used; with
	// 29-bit identifiers they are 0x18CE<TA><SA> (physical) and
	// 0x18CD<TA><SA> (functional).
	MixedAddressing
)

func (a Addressing) String() string {
	switch a {
	case NormalAddressing:
		return "normal"
	case NormalFixedAddressing:
		return "normal-fixed"
	case ExtendedAddressing:
		return "extended"
	case MixedAddressing:
		return "mixed"
	}
	return fmt.Sprintf("Addressing(%d)", uint8(a))
}

// DefaultPadByte fills frames when Padding is left zero, and fills CAN FD
// frames up to a valid length when padding is off.
const DefaultPadByte = 0xCC

// Padding says how frames are filled. Its zero value pads with
// DefaultPadByte; use PadWith for another byte and NoPadding for frames no
// longer than their data.
//
// A padded frame is 8 bytes long, or, in CAN FD, the smallest valid length
// of at least 8 that holds its data. Without padding a classic frame is as
// long as its data and a CAN FD frame has the smallest valid length that
// holds it (filled with DefaultPadByte where a length needs it).
type Padding struct {
	set, off bool
	b        byte
}

// NoPadding sends frames no longer than their data.
var NoPadding = Padding{set: true, off: true}

// PadWith pads frames with b.
func PadWith(b byte) Padding { return Padding{set: true, b: b} }

// Byte returns the fill byte and whether padding is on.
func (p Padding) Byte() (byte, bool) {
	switch {
	case !p.set:
		return DefaultPadByte, true
	case p.off:
		return DefaultPadByte, false
	}
	return p.b, true
}

func (p Padding) String() string {
	if b, on := p.Byte(); on {
		return fmt.Sprintf("pad %#02x", b)
	}
	return "no padding"
}

// Defaults used for zero Config fields.
const (
	DefaultTimeout        = time.Second // N_As, N_Bs and N_Cr
	DefaultWaitFrameMax   = 10          // N_WFTmax
	DefaultMaxMessageSize = MaxFFLen12  // 4095 bytes
)

// Config configures a Conn. The zero value is valid apart from the
// identifiers: normal addressing with 11-bit TxID 0 and RxID 0 is refused,
// so set at least TxID and RxID (or, for normal fixed addressing, the
// addresses). Zero fields take the documented defaults.
type Config struct {
	// Addressing is the addressing mode; the zero value is NormalAddressing.
	Addressing Addressing
	// TxID is the CAN identifier of frames this Conn sends (requests for a
	// tester, responses for an ECU); RxID the one it receives. Not used
	// with normal fixed addressing and with 29-bit mixed addressing, where
	// the identifiers are built from the addresses.
	TxID, RxID uint32
	// Extended selects 29-bit identifiers. Normal fixed addressing implies it.
	Extended bool
	// FunctionalID is the CAN identifier of functional requests (often
	// 0x7DF): SendFunctional sends on it and, with AcceptFunctional, single
	// frames received on it are delivered by Recv. Zero disables functional
	// addressing, except for normal fixed and 29-bit mixed addressing,
	// whose functional identifiers are built from FunctionalAddress.
	FunctionalID uint32
	// AcceptFunctional delivers functional single frames to Recv, as an
	// ECU does.
	AcceptFunctional bool

	// SourceAddress (N_SA, this node) and TargetAddress (N_TA, the peer)
	// build the identifiers of normal fixed and 29-bit mixed addressing. With
	// extended addressing frames sent start with TargetAddress and frames
	// received must start with SourceAddress.
	SourceAddress, TargetAddress uint8
	// FunctionalAddress is the target address of functional requests with
	// normal fixed, extended and 29-bit mixed addressing (often 0x33).
	FunctionalAddress uint8
	// AddressExtension (N_AE) is the first data byte with mixed addressing.
	AddressExtension uint8

	// FD sends CAN FD frames; BRS sets their bit rate switch flag.
	FD, BRS bool
	// TxDL is the largest frame length to send (TX_DL): 8 for classic CAN,
	// and one of 8, 12, 16, 20, 24, 32, 48, 64 for CAN FD. Zero means 8,
	// or 64 with FD. Received frames may have any length.
	TxDL int
	// Padding fills frames; the zero value pads with 0xCC.
	Padding Padding

	// BlockSize (BS) and STmin are what this Conn asks of a sender in its
	// flow control frames: consecutive frames per block (0: all in one
	// block) and the least time between them (rounded up to what the STmin
	// byte can express, at most 127 ms).
	BlockSize uint8
	STmin     time.Duration
	// WaitFrameMax (N_WFTmax) is how many FC WAIT frames in a row the sender
	// accepts before it gives up with ErrWaitLimit. Zero means
	// DefaultWaitFrameMax; negative means none are accepted.
	WaitFrameMax int
	// TimeoutAs (N_As, also used as N_Ar) bounds handing one frame to the
	// bus; TimeoutBs (N_Bs) waiting for a flow control frame; TimeoutCr
	// (N_Cr) waiting for the next consecutive frame. Zero means
	// DefaultTimeout (1 s).
	TimeoutAs, TimeoutBs, TimeoutCr time.Duration
	// MaxMessageSize is the longest message accepted; a first frame
	// announcing more is answered with FC OVFLW. Zero means
	// DefaultMaxMessageSize (4095 bytes).
	MaxMessageSize int
}

// Identifier prefixes of normal fixed and 29-bit mixed addressing (priority 6).
const (
	normalFixedPhys = 0x18DA0000
	normalFixedFunc = 0x18DB0000
	mixedPhys       = 0x18CE0000
	mixedFunc       = 0x18CD0000
)

// conf is a checked Config with defaults applied and identifiers resolved.
type conf struct {
	txID, rxID    uint32
	fTxID, fRxID  uint32
	functional    bool // functional identifiers configured
	acceptFunc    bool
	ext           bool
	hasAE         bool // the first data byte is an address
	txAE, rxAE    byte // first byte of physical frames sent / received
	fAE           byte // first byte of functional frames
	fd, brs       bool
	txDL          int
	pad           bool
	padByte       byte
	bs            uint8
	stmin         STmin
	wftMax        int
	nAs, nBs, nCr time.Duration
	maxMsg        int
	maxSF         int // most data in a single frame sent
}

func (c Config) resolve() (conf, error) {
	r := conf{
		ext:        c.Extended,
		acceptFunc: c.AcceptFunctional,
		fd:         c.FD,
		brs:        c.FD && c.BRS,
		bs:         c.BlockSize,
		nAs:        orDefault(c.TimeoutAs, DefaultTimeout),
		nBs:        orDefault(c.TimeoutBs, DefaultTimeout),
		nCr:        orDefault(c.TimeoutCr, DefaultTimeout),
		maxMsg:     c.MaxMessageSize,
		wftMax:     c.WaitFrameMax,
	}
	r.padByte, r.pad = c.Padding.Byte()
	switch {
	case r.wftMax == 0:
		r.wftMax = DefaultWaitFrameMax
	case r.wftMax < 0:
		r.wftMax = 0
	}
	if r.maxMsg == 0 {
		r.maxMsg = DefaultMaxMessageSize
	}
	switch {
	case c.TimeoutAs < 0 || c.TimeoutBs < 0 || c.TimeoutCr < 0:
		return r, fmt.Errorf("%w: negative timeout", ErrInvalidConfig)
	case c.MaxMessageSize < 0:
		return r, fmt.Errorf("%w: negative MaxMessageSize", ErrInvalidConfig)
	case c.STmin < 0 || c.STmin > 127*time.Millisecond:
		return r, fmt.Errorf("%w: STmin %v outside 0–127ms", ErrInvalidConfig, c.STmin)
	case c.BRS && !c.FD:
		return r, fmt.Errorf("%w: BRS without FD", ErrInvalidConfig)
	}
	r.stmin = STminFromDuration(c.STmin)

	r.txDL = c.TxDL
	if r.txDL == 0 {
		r.txDL = can.MaxClassicLen
		if c.FD {
			r.txDL = can.MaxFDLen
		}
	}
	if l, ok := can.FDLen(r.txDL); !ok || int(l) != r.txDL || r.txDL < can.MaxClassicLen ||
		(!c.FD && r.txDL != can.MaxClassicLen) {
		return r, fmt.Errorf("%w: TxDL %d (FD %v)", ErrInvalidConfig, c.TxDL, c.FD)
	}

	sa, ta, fa := uint32(c.SourceAddress), uint32(c.TargetAddress), uint32(c.FunctionalAddress)
	r.txID, r.rxID, r.fTxID, r.fRxID = c.TxID, c.RxID, c.FunctionalID, c.FunctionalID
	r.functional = c.FunctionalID != 0
	switch c.Addressing {
	case NormalAddressing:
	case NormalFixedAddressing:
		r.ext = true
		r.txID = normalFixedPhys | ta<<8 | sa
		r.rxID = normalFixedPhys | sa<<8 | ta
		r.fTxID = normalFixedFunc | fa<<8 | sa
		r.fRxID = normalFixedFunc | fa<<8 | ta
		r.functional = true
	case ExtendedAddressing:
		r.hasAE = true
		r.txAE, r.rxAE, r.fAE = c.TargetAddress, c.SourceAddress, c.FunctionalAddress
	case MixedAddressing:
		r.hasAE = true
		r.txAE, r.rxAE, r.fAE = c.AddressExtension, c.AddressExtension, c.AddressExtension
		if c.Extended {
			r.txID = mixedPhys | ta<<8 | sa
			r.rxID = mixedPhys | sa<<8 | ta
			r.fTxID = mixedFunc | fa<<8 | sa
			r.fRxID = mixedFunc | fa<<8 | ta
			r.functional = true
		}
	default:
		return r, fmt.Errorf("%w: addressing %v", ErrInvalidConfig, c.Addressing)
	}
	maxID, bits := uint32(can.MaxID), 11
	if r.ext {
		maxID, bits = can.MaxExtendedID, 29
	}
	switch {
	case r.txID > maxID || r.rxID > maxID || r.fTxID > maxID:
		return r, fmt.Errorf("%w: identifier exceeds %d bits", ErrInvalidConfig, bits)
	case r.txID == r.rxID && r.txAE == r.rxAE:
		return r, fmt.Errorf("%w: TxID and RxID are both %#x", ErrInvalidConfig, r.txID)
	}

	ae := r.aeLen()
	r.maxSF = MaxClassicSFLen - ae
	if r.txDL > can.MaxClassicLen {
		r.maxSF = r.txDL - 2 - ae
	}
	return r, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// aeLen is the number of address bytes before the PCI.
func (c *conf) aeLen() int {
	if c.hasAE {
		return 1
	}
	return 0
}

// frameLen returns the length of a frame carrying n bytes.
func (c *conf) frameLen(n int) int {
	if c.pad && n < can.MaxClassicLen {
		return can.MaxClassicLen
	}
	if c.fd {
		l, _ := can.FDLen(n)
		return int(l)
	}
	return n
}

// frame encodes p, with address byte ae when the mode has one, into a frame
// with identifier id, padded as configured.
func (c *conf) frame(id uint32, ae byte, p PDU) (can.Frame, error) {
	f := can.Frame{ID: id, Extended: c.ext, FD: c.fd, BRS: c.brs}
	b := f.Data[:0:c.txDL]
	if c.hasAE {
		b = append(b, ae)
	}
	b, err := p.AppendBinary(b)
	if err != nil {
		return f, err
	}
	if len(b) > c.txDL {
		return f, fmt.Errorf("isotp encode %v: %w: %d bytes exceed TxDL %d", p.Type, ErrWrongLength, len(b), c.txDL)
	}
	n := len(b)
	l := c.frameLen(n)
	for i := n; i < l; i++ {
		f.Data[i] = c.padByte
	}
	f.Len = uint8(l)
	return f, nil
}
