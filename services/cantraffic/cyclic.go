package cantraffic

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"

	"github.com/bgkit/bgkit/internal/deadline"
)

// CyclicMessage is one message of a cyclic set: a frame sent every
// PeriodMS milliseconds.
type CyclicMessage struct {
	// ID is the identifier: up to 0x7FF, or up to 0x1FFFFFFF with
	// Extended ("0x123", "123" or a number).
	ID hexid.ID `json:"id" doc:"CAN identifier: up to 0x7FF, or up to 0x1FFFFFFF with extended." example:"0x123"`
	// Data is the payload in hex, two digits per byte (may be empty); it
	// can be changed while running with set_payload. A CAN FD payload whose
	// length is not a CAN FD length is padded with zeros to the next one.
	Data string `json:"data" doc:"Payload in hex, two digits per byte (may be empty); set_payload changes it while running." example:"11223344"`
	// PeriodMS is the period in milliseconds; decimals are allowed.
	PeriodMS float64 `json:"period_ms" validate:"gt=0,lte=3600000" doc:"Period, in ms, decimals allowed." example:"100"`
	// Extended selects a 29-bit identifier.
	Extended bool `json:"extended" doc:"29-bit identifier." default:"false"`
	// FD sends a CAN FD frame; BRS (which implies FD) with bit rate switch.
	FD  bool `json:"fd" doc:"Send as CAN FD frames; a payload is padded with zeros to the next CAN FD length." default:"false"`
	BRS bool `json:"brs" doc:"CAN FD with bit rate switch; implies fd." default:"false"`
}

// SetPayloadArgs is the input of set_payload.
type SetPayloadArgs struct {
	// ID names the cyclic message, as in CyclicMessage.ID.
	ID hexid.ID `json:"id" doc:"Identifier of the cyclic message to change." example:"0x123"`
	// Data is the new payload in hex; its length may differ from the old.
	Data string `json:"data" doc:"New payload in hex, two digits per byte; its length may differ from the old." example:"AABB"`
	// Extended picks the extended message when the set has a standard and
	// an extended one with the same number.
	Extended bool `json:"extended" doc:"Pick the extended message when a standard and an extended one have the same number." example:"false"`
}

// CyclicStats describes one cyclic message in Stats.
type CyclicStats struct {
	ID       hexid.ID `json:"id" doc:"CAN identifier."`
	Data     string   `json:"data" doc:"Current payload in hex."`
	PeriodMS float64  `json:"period_ms" doc:"Period, in ms."`
	Sent     uint64   `json:"sent" doc:"Frames of this message sent since the service started."`
}

// ErrNoMessage is returned (as a 400) by set_payload for an identifier
// that is not in the cyclic set.
var ErrNoMessage = errors.New("no such cyclic message")

// cyclicMsg is a cyclic message while the service runs.
type cyclicMsg struct {
	id       hexid.ID
	extended bool
	periodMS float64
	every    time.Duration
	sent     atomic.Uint64

	mu    sync.Mutex
	frame can.Frame
}

func (m *cyclicMsg) period() time.Duration { return m.every }
func (m *cyclicMsg) sentOne()              { m.sent.Add(1) }

func (m *cyclicMsg) next() can.Frame {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frame
}

// cyclicRunner is the cyclic mode.
type cyclicRunner struct {
	s    *CANTrafficService
	msgs []*cyclicMsg
}

func newCyclicRunner(s *CANTrafficService, set []CyclicMessage) (*cyclicRunner, error) {
	c := &cyclicRunner{s: s}
	seen := map[[2]uint32]bool{}
	for i, cm := range set {
		m, err := newCyclic(cm)
		if err != nil {
			return nil, fmt.Errorf("cyclic[%d]: %w", i, err)
		}
		key := [2]uint32{uint32(m.id), 0}
		if m.extended {
			key[1] = 1
		}
		if seen[key] {
			return nil, fmt.Errorf("cyclic[%d]: id %s appears twice", i, cm.ID)
		}
		seen[key] = true
		c.msgs = append(c.msgs, m)
	}
	return c, nil
}

func (c *cyclicRunner) mode() string { return ModeCyclic }

func (c *cyclicRunner) prepare() (func(context.Context) string, error) {
	ps := make([]periodic, len(c.msgs))
	for i, m := range c.msgs {
		ps[i] = m
	}
	return func(ctx context.Context) string { runPeriodic(ctx, c.s, ps, 0); return "" }, nil
}

func (c *cyclicRunner) stats(st *Stats) {
	for _, m := range c.msgs {
		f := m.next()
		st.Cyclic = append(st.Cyclic, CyclicStats{
			ID:       m.id,
			Data:     fmt.Sprintf("%X", f.Payload()),
			PeriodMS: m.periodMS,
			Sent:     m.sent.Load(),
		})
	}
}

// newCyclic checks one cyclic message.
func newCyclic(cm CyclicMessage) (*cyclicMsg, error) {
	if err := checkID(cm.ID, cm.Extended); err != nil {
		return nil, err
	}
	if cm.PeriodMS <= 0 || math.IsNaN(cm.PeriodMS) || cm.PeriodMS > maxGapMS {
		return nil, fmt.Errorf("id %s: period_ms %v: want 0 < period_ms ≤ %d", cm.ID, cm.PeriodMS, maxGapMS)
	}
	period := time.Duration(cm.PeriodMS * float64(time.Millisecond))
	if period <= 0 {
		return nil, fmt.Errorf("id %s: period_ms %v is below a nanosecond", cm.ID, cm.PeriodMS)
	}
	m := &cyclicMsg{id: cm.ID, extended: cm.Extended, periodMS: cm.PeriodMS, every: period}
	m.frame = can.Frame{ID: uint32(cm.ID), Extended: cm.Extended, FD: cm.FD || cm.BRS, BRS: cm.BRS}
	if err := setData(&m.frame, cm.Data); err != nil {
		return nil, fmt.Errorf("id %s: %w", cm.ID, err)
	}
	return m, nil
}

// setData sets f's payload from hex, padding a CAN FD payload to a valid
// length.
func setData(f *can.Frame, s string) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("data %q: %w", s, err)
	}
	g := *f
	g.Data = [can.MaxFDLen]byte{}
	if len(b) > can.MaxFDLen {
		return fmt.Errorf("data %q: more than 64 bytes", s)
	}
	g.SetPayload(b)
	if g.FD {
		g.Len, _ = can.FDLen(len(b))
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("data %q: %w", s, err)
	}
	*f = g
	return nil
}

// setPayload changes the payload of the message named by a.
func (c *cyclicRunner) setPayload(a SetPayloadArgs) error {
	var match []*cyclicMsg
	for _, m := range c.msgs {
		if m.id == a.ID {
			match = append(match, m)
		}
	}
	if len(match) > 1 {
		match = match[:0]
		for _, m := range c.msgs {
			if m.id == a.ID && m.extended == a.Extended {
				match = append(match, m)
			}
		}
	}
	if len(match) == 0 {
		return fmt.Errorf("set_payload: id %s: %w", a.ID, ErrNoMessage)
	}
	m := match[0]
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := setData(&m.frame, a.Data); err != nil {
		return fmt.Errorf("set_payload: id %s: %w", a.ID, err)
	}
	return nil
}

// periodic is a message sent at its own period.
type periodic interface {
	period() time.Duration
	next() can.Frame // the frame to send now
	sentOne()        // the bus took the frame next gave
}

// runPeriodic sends every message at its own absolute deadlines, start +
// k·period, so that timing errors never add up. The first frames go out
// at once. When a wake-up comes late by more than catchUp (0: always),
// each message that is due is sent once and its missed deadlines are
// skipped: lateness never causes a burst. A message late by catchUp or
// less sends the frames of its missed deadlines one after the other, so
// that its mean period holds through short stalls. It returns when ctx
// ends.
func runPeriodic(ctx context.Context, s *CANTrafficService, msgs []periodic, catchUp time.Duration) {
	if len(msgs) == 0 {
		<-ctx.Done()
		return
	}
	var w deadline.Waiter
	defer w.Stop()
	start := time.Now()
	k := make([]int64, len(msgs)) // index of each message's next deadline
	due := func(i int) time.Time {
		return start.Add(time.Duration(k[i]) * msgs[i].period())
	}
	for {
		next := due(0)
		for i := range msgs {
			if d := due(i); d.Before(next) {
				next = d
			}
		}
		if err := w.Until(ctx, next, nil); err != nil {
			return
		}
		now := time.Now()
		for i, m := range msgs {
			if due(i).After(now) {
				continue
			}
			late := now.Sub(due(i))
			err := s.send(ctx, m.next())
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				m.sentOne()
			}
			if late <= catchUp {
				k[i]++ // the next deadline, due already if more were missed
				continue
			}
			// The first deadline still ahead: missed ones are skipped.
			k[i] = int64(time.Since(start)/m.period()) + 1
		}
	}
}
