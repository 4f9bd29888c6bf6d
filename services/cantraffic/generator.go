package cantraffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"

	"github.com/bgkit/bgkit/internal/deadline"
)

// GeneratorArgs configures the generator, with the options of can-utils
// cangen. Zero values mean the defaults.
type GeneratorArgs struct {
	// GapMS is the gap between bursts in milliseconds, decimals allowed
	// (cangen -g). Unset means 200; 0 sends as fast as possible.
	GapMS *float64 `json:"gap_ms,omitempty" validate:"omitnil,gte=0,lte=3600000" doc:"Gap between bursts, in ms, decimals allowed; 0 sends as fast as possible (cangen -g)." example:"10"`
	// Burst is the number of frames sent back to back after each gap
	// (cangen -c). Default 1.
	Burst int `json:"burst" validate:"gte=0" doc:"Frames sent back to back after each gap (cangen -c)."`
	// Count stops a run after that many frames (cangen -n). Default 0:
	// no limit.
	Count int `json:"count" validate:"gte=0" doc:"Frames per run, after which the run ends; 0: no limit (cangen -n)."`
	// IDMode is how identifiers are made (cangen -I): "r" random (the
	// default), "i" incrementing from 0, "e" random even, "o" random odd,
	// or a fixed identifier ("7E0", "0x7E0"; write "0E" for the value E).
	IDMode string `json:"id_mode" doc:"Identifiers: r random, i incrementing from 0, e random even, o random odd, or one fixed hex ID such as 7E0 (cangen -I)." example:"7E0"`
	// LenMode is how payload lengths are made (cangen -L): "r" random (the
	// default, except with fixed data: its length), "i" incrementing, or a
	// fixed length in decimal. CAN FD lengths round up to a valid one.
	LenMode string `json:"len_mode" doc:"Payload length: r random, i incrementing, or a fixed length in bytes; CAN FD lengths round up to a valid one (cangen -L)." default:"\"r\" (fixed data: its length)"`
	// DataMode is how payloads are made (cangen -D): "r" random (the
	// default), "i" a little-endian counter in the first 8 bytes, or
	// fixed data in hex where each 'x' is a nibble randomized in every
	// frame ("11xx3344DEADBEEF").
	DataMode string `json:"data_mode" doc:"Payload: r random, i a little-endian counter, or fixed hex data where each x is a random nibble, e.g. 11xx3344 (cangen -D)." example:"11xx3344"`
	// Extended makes 29-bit identifiers (cangen -e).
	Extended bool `json:"extended" doc:"Send 29-bit identifiers (cangen -e)."`
	// FD makes CAN FD frames (cangen -f); BRS (-b) and ESI (-E) set those
	// flags and imply FD.
	FD  bool `json:"fd" doc:"Send CAN FD frames (cangen -f)."`
	BRS bool `json:"brs" doc:"Set bit rate switch on the CAN FD frames; implies fd (cangen -b)."`
	ESI bool `json:"esi" doc:"Set the error state indicator on the CAN FD frames; implies fd (cangen -E)."`
	// RTR makes remote frames (cangen -R; classic frames only).
	RTR bool `json:"rtr" doc:"Send remote frames; classic CAN only (cangen -R)."`
	// Mix draws the kind of each frame at random: standard or extended,
	// classic or FD, BRS, ESI, remote (cangen -m).
	Mix bool `json:"mix" doc:"Draw the kind of each frame at random: standard or extended, classic or FD, BRS, ESI, remote (cangen -m)."`
	// Seed makes random values reproducible: the same seed gives the same
	// frames in every run. 0 (the default) picks a new seed for each run,
	// reported by stats.
	Seed uint64 `json:"seed" doc:"Seed of the random values: the same seed gives the same frames in every run; 0 picks a new seed per run (stats shows it)."`
}

// GeneratorStats describes the generator in Stats.
type GeneratorStats struct {
	GapMS    float64 `json:"gap_ms" doc:"Gap between bursts now, in ms (set_gap changes it)."`
	Burst    int     `json:"burst" doc:"Frames per burst."`
	Count    int     `json:"count" doc:"Frames per run; 0: no limit."`
	IDMode   string  `json:"id_mode" doc:"How identifiers are made (r, i, e, o or a fixed ID)."`
	LenMode  string  `json:"len_mode" doc:"How payload lengths are made (r, i or a fixed length)."`
	DataMode string  `json:"data_mode" doc:"How payloads are made (r, i or fixed hex data)."`
	// Seed is the seed of the current (or last) run: pass it as the seed
	// argument to generate the same frames again.
	Seed uint64 `json:"seed" doc:"Seed of the current (or last) run: pass it as generator.seed to send the same frames again."`
}

// normalize applies the defaults that do not depend on parsing.
func (a *GeneratorArgs) normalize() {
	if a.GapMS == nil {
		a.GapMS = new(float64(DefaultGapMS))
	}
	if a.Burst == 0 {
		a.Burst = 1
	}
	if a.IDMode == "" {
		a.IDMode = "r"
	}
	if a.DataMode == "" {
		a.DataMode = "r"
	}
}

// generatorRunner is the generator mode.
type generatorRunner struct {
	s   *CANTrafficService
	cfg genConfig

	gap  atomic.Int64  // gap in ns
	wake chan struct{} // signalled by set_gap

	mu   sync.Mutex // guards args.GapMS and seed
	args GeneratorArgs
	seed uint64 // seed of the current run
}

func newGeneratorRunner(s *CANTrafficService, a *GeneratorArgs) (*generatorRunner, error) {
	gap := *a.GapMS
	if math.IsNaN(gap) || gap < 0 || gap > maxGapMS {
		return nil, fmt.Errorf("generator: gap_ms %v: want 0 to %d", gap, maxGapMS)
	}
	if a.Burst < 0 || a.Count < 0 {
		return nil, errors.New("generator: burst and count must not be negative")
	}
	c, err := parseGenConfig(a)
	if err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	if a.LenMode == "" {
		a.LenMode = "r"
		if c.lenMode == modeFixed {
			a.LenMode = strconv.Itoa(int(c.length))
		}
	}
	g := &generatorRunner{s: s, cfg: c, args: *a, wake: make(chan struct{}, 1)}
	g.gap.Store(int64(gap * float64(time.Millisecond)))
	return g, nil
}

func (g *generatorRunner) mode() string { return ModeGenerator }

func (g *generatorRunner) prepare() (func(context.Context) string, error) {
	seed := g.args.Seed
	if seed == 0 {
		seed = rand.Uint64() | 1
	}
	g.mu.Lock()
	g.seed = seed
	g.mu.Unlock()
	gen := newGenerator(&g.cfg, seed)
	return func(ctx context.Context) string { return g.runGenerator(ctx, gen) }, nil
}

func (g *generatorRunner) stats(st *Stats) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := &g.args
	st.Generator = &GeneratorStats{
		GapMS: *a.GapMS, Burst: a.Burst, Count: a.Count,
		IDMode: a.IDMode, LenMode: a.LenMode, DataMode: a.DataMode,
		Seed: g.seed,
	}
}

// setGap sets the gap; a wait in progress is recomputed with it.
func (g *generatorRunner) setGap(gapMS float64) error {
	if math.IsNaN(gapMS) || gapMS <= 0 || gapMS > maxGapMS {
		return fmt.Errorf("%v ms: want 0 < gap ≤ %d", gapMS, maxGapMS)
	}
	g.mu.Lock()
	g.gap.Store(int64(gapMS * float64(time.Millisecond)))
	g.args.GapMS = &gapMS
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	return nil
}

// maxCatchUp is how far behind its deadlines the generator may fall and
// still catch up: with gaps below it, a short stall is made up for by
// sending the missed frames at once, so that the mean rate holds.
const maxCatchUp = 10 * time.Millisecond

// runGenerator sends bursts of generated frames, one burst per gap, at
// absolute deadlines (start + k·gap) so that timing errors do not add up.
// When it falls behind by more than a gap and more than maxCatchUp, it
// starts again from the present instead of catching up.
func (g *generatorRunner) runGenerator(ctx context.Context, gen *generator) string {
	count, burst := g.args.Count, g.args.Burst
	last := time.Now() // deadline of the current burst
	inBurst := 0
	for n := 0; count == 0 || n < count; n++ {
		if inBurst == burst {
			inBurst = 0
			if err := g.waitGap(ctx, &last); err != nil {
				return ""
			}
		} else if ctx.Err() != nil {
			return ""
		}
		_ = g.s.send(ctx, gen.next())
		inBurst++
	}
	return EndCount
}

// waitGap waits until one gap after *last and moves *last there. A
// set_gap during the wait recomputes the deadline with the new gap.
func (g *generatorRunner) waitGap(ctx context.Context, last *time.Time) error {
	for {
		gap := time.Duration(g.gap.Load())
		if gap <= 0 {
			*last = time.Now()
			return ctx.Err()
		}
		next := last.Add(gap)
		err := deadline.Until(ctx, next, g.wake)
		if errors.Is(err, deadline.ErrWoken) {
			continue
		}
		if err != nil {
			return err
		}
		*last = next
		if now := time.Now(); now.Sub(next) > max(gap, maxCatchUp) {
			*last = now
		}
		return nil
	}
}

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
func parseGenConfig(a *GeneratorArgs) (genConfig, error) {
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
		h, err := hexid.Parse(a.IDMode)
		if err != nil {
			return c, fmt.Errorf("id_mode: want r, i, e, o or an identifier: %w", err)
		}
		id := uint32(h)
		if err := checkID(h, c.extended); err != nil {
			return c, fmt.Errorf("id_mode: %w", err)
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

// checkID checks a CAN identifier against its format.
func checkID(id hexid.ID, extended bool) error {
	switch {
	case id > can.MaxExtendedID:
		return fmt.Errorf("id %s exceeds 0x1FFFFFFF", id)
	case id > can.MaxID && !extended:
		return fmt.Errorf("id %s exceeds 0x7FF and extended is not set", id)
	}
	return nil
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
