package cantraffic

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/bgkit/bgkit/can"
)

// mode is how the generator picks a value for each frame, as cangen's
// generation modes.
type mode uint8

const (
	modeRandom    mode = iota // 'r': a random value (the default)
	modeIncrement             // 'i': 0, 1, 2, ... wrapping
	modeFixed                 // a fixed value
	modeEven                  // 'e': a random even identifier
	modeOdd                   // 'o': a random odd identifier
)

// fdLens are the CAN FD payload lengths by DLC.
var fdLens = [16]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64}

// genConfig is the parsed generator part of Args.
type genConfig struct {
	idMode   mode
	id       uint32
	lenMode  mode
	length   uint8 // fixed length (lenMode == modeFixed)
	dataMode mode
	data     [can.MaxFDLen]byte // fixed data
	randMask [can.MaxFDLen]byte // bits of data randomized in each frame ('x' nibbles)
	hasRand  bool               // randMask is not all zero

	extended, fd, brs, esi, rtr, mix bool
}

// parseGenConfig checks and parses the generator arguments.
func parseGenConfig(a *Args) (genConfig, error) {
	c := genConfig{
		extended: a.Extended,
		fd:       a.FD || a.BRS || a.ESI, // as cangen: -b and -E imply -f
		brs:      a.BRS,
		esi:      a.ESI,
		rtr:      a.RTR,
		mix:      a.Mix,
	}
	if c.rtr && c.fd && !c.mix {
		return c, fmt.Errorf("rtr: CAN FD has no remote frames (fd, brs or esi is set)")
	}
	switch a.IDMode {
	case "", "r":
		c.idMode = modeRandom
	case "i":
		c.idMode = modeIncrement
	case "e":
		c.idMode = modeEven
	case "o":
		c.idMode = modeOdd
	default:
		id, err := parseHexID(a.IDMode)
		if err != nil {
			return c, fmt.Errorf("id_mode: %w", err)
		}
		if id > can.MaxID && !c.extended {
			return c, fmt.Errorf("id_mode: id %X exceeds 7FF and extended is not set", id)
		}
		c.idMode, c.id = modeFixed, id
	}
	dataLen := -1
	switch a.DataMode {
	case "", "r":
		c.dataMode = modeRandom
	case "i":
		c.dataMode = modeIncrement
	default:
		n, err := c.parseData(a.DataMode)
		if err != nil {
			return c, fmt.Errorf("data_mode: %w", err)
		}
		c.dataMode, dataLen = modeFixed, n
	}
	switch a.LenMode {
	case "r":
		c.lenMode = modeRandom
	case "i":
		c.lenMode = modeIncrement
	case "":
		// cangen's default is random; fixed data without a length mode
		// means that data, whole.
		c.lenMode = modeRandom
		if dataLen >= 0 {
			c.lenMode, c.length = modeFixed, uint8(dataLen)
		}
	default:
		n, err := strconv.Atoi(a.LenMode)
		if err != nil || n < 0 || n > can.MaxFDLen {
			return c, fmt.Errorf("len_mode %q: want r, i or a length 0-64", a.LenMode)
		}
		c.lenMode, c.length = modeFixed, uint8(n)
	}
	if c.lenMode == modeFixed {
		switch {
		case c.fd || c.mix:
			c.length, _ = can.FDLen(int(c.length)) // round up, as cangen does
		case c.length > can.MaxClassicLen:
			return c, fmt.Errorf("len_mode: length %d exceeds 8 for classic frames (set fd for CAN FD)", c.length)
		}
	}
	if dataLen > can.MaxClassicLen && !c.fd && !c.mix {
		return c, fmt.Errorf("data_mode: %d bytes exceed 8 for classic frames (set fd for CAN FD)", dataLen)
	}
	return c, nil
}

// parseData parses fixed data: hex digits, two per byte, where an 'x'
// stands for a nibble randomized in each frame. It returns the byte count.
func (c *genConfig) parseData(s string) (int, error) {
	if len(s)%2 != 0 {
		return 0, fmt.Errorf("%q: odd number of hex digits", s)
	}
	if len(s) > 2*can.MaxFDLen {
		return 0, fmt.Errorf("%q: more than 64 bytes", s)
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		shift := uint(4)
		if i%2 == 1 {
			shift = 0
		}
		var v byte
		switch {
		case ch == 'x' || ch == 'X':
			c.randMask[i/2] |= 0xF << shift
			c.hasRand = true
			continue
		case ch >= '0' && ch <= '9':
			v = ch - '0'
		case ch >= 'a' && ch <= 'f':
			v = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			v = ch - 'A' + 10
		default:
			return 0, fmt.Errorf("%q: invalid character %q (want hex digits or x)", s, ch)
		}
		c.data[i/2] |= v << shift
	}
	return len(s) / 2, nil
}

// parseHexID parses a CAN identifier of 1 to 8 hex digits.
func parseHexID(s string) (uint32, error) {
	if s == "" || len(s) > 8 {
		return 0, fmt.Errorf("%q: want 1 to 8 hex digits", s)
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%q: want 1 to 8 hex digits", s)
	}
	if v > can.MaxExtendedID {
		return 0, fmt.Errorf("%q: exceeds 1FFFFFFF", s)
	}
	return uint32(v), nil
}

// generator makes the frames of one run. The same config and seed give
// the same frames.
type generator struct {
	c       *genConfig
	rng     *rand.Rand
	id      uint32 // next id in increment mode
	incDLC  int    // next DLC in length increment mode
	incData uint64 // next value in data increment mode
}

func newGenerator(c *genConfig, seed uint64) *generator {
	return &generator{c: c, rng: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))}
}

// next returns the next frame, generated as cangen does: the kind of
// frame (drawn at random with mix), then the identifier, the length and
// the data.
func (g *generator) next() can.Frame {
	c := g.c
	var f can.Frame
	f.Extended, f.FD, f.BRS, f.ESI, f.Remote = c.extended, c.fd, c.brs, c.esi, c.rtr
	if c.mix {
		r := g.rng.Uint32()
		f.Extended = r&1 != 0
		f.FD = r&2 != 0
		f.BRS = f.FD && r&4 != 0
		f.ESI = f.FD && r&8 != 0
		f.Remote = !f.FD && r&24 == 24
	}

	switch c.idMode {
	case modeRandom:
		f.ID = g.rng.Uint32()
	case modeEven:
		f.ID = g.rng.Uint32() &^ 1
	case modeOdd:
		f.ID = g.rng.Uint32() | 1
	case modeFixed:
		f.ID = c.id
	case modeIncrement:
		f.ID = g.id
		g.id++
	}
	if f.Extended {
		f.ID &= can.MaxExtendedID
	} else {
		f.ID &= can.MaxID
	}

	var n uint8
	switch c.lenMode {
	case modeRandom:
		dlc := g.rng.Uint32() & 0xF
		if f.FD {
			n = fdLens[dlc]
		} else {
			n = uint8(min(dlc, can.MaxClassicLen)) // 8 for half the frames, as cangen
		}
	case modeIncrement:
		if c.fd && !c.mix {
			n = fdLens[g.incDLC]
			g.incDLC = (g.incDLC + 1) % len(fdLens)
		} else {
			n = uint8(g.incDLC)
			g.incDLC = (g.incDLC + 1) % (can.MaxClassicLen + 1)
		}
	case modeFixed:
		n = c.length
		if !f.FD {
			n = min(n, can.MaxClassicLen)
		}
	}
	if c.dataMode == modeIncrement && n == 0 {
		n = 1 // cangen: the minimum length for incremented data
	}
	f.Len = n
	if f.Remote {
		return f
	}

	switch c.dataMode {
	case modeRandom:
		for i := 0; i < int(n); i += 8 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], g.rng.Uint64())
			copy(f.Data[i:n], b[:])
		}
	case modeIncrement:
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], g.incData)
		g.incData++
		copy(f.Data[:n], b[:])
	case modeFixed:
		copy(f.Data[:n], c.data[:n])
		if c.hasRand {
			for i := range int(n) {
				if m := c.randMask[i]; m != 0 {
					f.Data[i] = f.Data[i]&^m | byte(g.rng.Uint32())&m
				}
			}
		}
	}
	return f
}
