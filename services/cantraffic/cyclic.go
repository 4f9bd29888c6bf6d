package cantraffic

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"

	"github.com/bgkit/bgkit/internal/deadline"
)

// CyclicMessage is one message of a cyclic set: a frame sent every
// PeriodMS milliseconds.
type CyclicMessage struct {
	// ID is the identifier in hex: up to 7FF, or up to 1FFFFFFF with
	// Extended.
	ID string `json:"id" validate:"required"`
	// Data is the payload in hex, two digits per byte (may be empty); it
	// can be changed while running with set_payload. A CAN FD payload whose
	// length is not a CAN FD length is padded with zeros to the next one.
	Data string `json:"data"`
	// PeriodMS is the period in milliseconds; decimals are allowed.
	PeriodMS float64 `json:"period_ms" validate:"gt=0,lte=3600000"`
	// Extended selects a 29-bit identifier.
	Extended bool `json:"extended"`
	// FD sends a CAN FD frame; BRS (which implies FD) with bit rate switch.
	FD  bool `json:"fd"`
	BRS bool `json:"brs"`
}

// SetPayloadArgs is the input of set_payload.
type SetPayloadArgs struct {
	// ID names the cyclic message, as in CyclicMessage.ID.
	ID string `json:"id" validate:"required"`
	// Data is the new payload in hex; its length may differ from the old.
	Data string `json:"data"`
	// Extended picks the extended message when the set has a standard and
	// an extended one with the same number.
	Extended bool `json:"extended"`
}

// CyclicStats describes one cyclic message in Stats.
type CyclicStats struct {
	ID       string  `json:"id"`
	Data     string  `json:"data"`
	PeriodMS float64 `json:"period_ms"`
	Sent     uint64  `json:"sent"`
}

// ErrNoMessage is returned (as a 400) by set_payload for an identifier
// that is not in the cyclic set.
var ErrNoMessage = errors.New("no such cyclic message")

// cyclicMsg is a cyclic message while the service runs.
type cyclicMsg struct {
	id       string // as given, upper case
	canID    uint32
	extended bool
	period   time.Duration
	sent     atomic.Uint64

	mu    sync.Mutex
	frame can.Frame
}

func (m *cyclicMsg) get() can.Frame {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frame
}

// newCyclic checks one cyclic message.
func newCyclic(cm CyclicMessage) (*cyclicMsg, error) {
	id, err := parseHexID(cm.ID)
	if err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	if id > can.MaxID && !cm.Extended {
		return nil, fmt.Errorf("id %s exceeds 7FF and extended is not set", cm.ID)
	}
	if cm.PeriodMS <= 0 || math.IsNaN(cm.PeriodMS) || cm.PeriodMS > 3600000 {
		return nil, fmt.Errorf("id %s: period_ms %v: want 0 < period_ms ≤ 3600000", cm.ID, cm.PeriodMS)
	}
	period := time.Duration(cm.PeriodMS * float64(time.Millisecond))
	if period <= 0 {
		return nil, fmt.Errorf("id %s: period_ms %v is below a nanosecond", cm.ID, cm.PeriodMS)
	}
	m := &cyclicMsg{id: strings.ToUpper(cm.ID), canID: id, extended: cm.Extended, period: period}
	m.frame = can.Frame{ID: id, Extended: cm.Extended, FD: cm.FD || cm.BRS, BRS: cm.BRS}
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
func (s *CANTrafficService) setPayload(a SetPayloadArgs) error {
	id, err := parseHexID(a.ID)
	if err != nil {
		return fmt.Errorf("set_payload: id: %w", err)
	}
	var match []*cyclicMsg
	for _, m := range s.cyclic {
		if m.canID == id {
			match = append(match, m)
		}
	}
	if len(match) > 1 {
		match = match[:0]
		for _, m := range s.cyclic {
			if m.canID == id && m.extended == a.Extended {
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

// runCyclic sends every message of the set at its own absolute deadlines,
// start + k·period, so that timing errors never add up. The first frames
// go out at once. When a wake-up comes late, each message that is due is
// sent once and its missed deadlines are skipped: lateness never causes a
// burst.
func (s *CANTrafficService) runCyclic(ctx context.Context) {
	start := time.Now()
	k := make([]int64, len(s.cyclic)) // index of each message's next deadline
	due := func(i int) time.Time {
		return start.Add(time.Duration(k[i]) * s.cyclic[i].period)
	}
	for {
		next := due(0)
		for i := range s.cyclic {
			if d := due(i); d.Before(next) {
				next = d
			}
		}
		if err := deadline.Until(ctx, next, nil); err != nil {
			return
		}
		now := time.Now()
		for i, m := range s.cyclic {
			if due(i).After(now) {
				continue
			}
			err := s.send(ctx, m.get())
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				m.sent.Add(1)
			}
			// The first deadline still ahead: missed ones are skipped.
			k[i] = int64(time.Since(start)/m.period) + 1
		}
	}
}
