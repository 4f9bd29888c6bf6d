package can

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrClosed is returned by Send and Recv on a closed bus.
var ErrClosed = errors.New("can: bus closed")

// Received is a frame with the time it was received.
type Received struct {
	Time time.Time
	Frame
}

// receivedJSON is the JSON form of Received. Without MarshalJSON, the
// MarshalText promoted from Frame would write the frame alone.
type receivedJSON struct {
	Time  time.Time `json:"time"`
	Frame Frame     `json:"frame"`
}

// MarshalJSON writes {"time": ..., "frame": "123#DEAD"}.
func (r Received) MarshalJSON() ([]byte, error) {
	return json.Marshal(receivedJSON{r.Time, r.Frame})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Received) UnmarshalJSON(b []byte) error {
	var j receivedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Received{Time: j.Time, Frame: j.Frame}
	return nil
}

// Bus is one node's connection to a CAN bus. Implementations are safe for
// concurrent use: one goroutine may Recv while others Send.
//
// A node does not receive the frames it sent itself (like SocketCAN without
// CAN_RAW_RECV_OWN_MSGS).
type Bus interface {
	// Send puts a frame on the bus. It returns when the frame has been handed
	// to the transport, or with ctx's error.
	Send(ctx context.Context, f Frame) error
	// Recv waits for the next frame that passes the node's filters.
	Recv(ctx context.Context) (Received, error)
	// Close detaches the node; a blocked Recv returns ErrClosed. It is idempotent.
	Close() error
}

// Filter is a kernel-style acceptance filter: a frame passes when
// (id & Mask) == (ID & Mask), where id is the frame's identifier with
// EFFFlag set for extended frames and RTRFlag for remote frames, as in
// struct can_filter. Invert selects the frames that do not match.
type Filter struct {
	ID     uint32
	Mask   uint32
	Invert bool
}

// Flags in a Filter's ID and Mask, with the values of linux/can.h.
const (
	EFFFlag = 0x80000000 // extended frame format
	RTRFlag = 0x40000000 // remote transmission request
)

// Match reports whether f passes the filter.
func (flt Filter) Match(f *Frame) bool {
	id := f.ID
	if f.Extended {
		id |= EFFFlag
	}
	if f.Remote {
		id |= RTRFlag
	}
	m := id&flt.Mask == flt.ID&flt.Mask
	return m != flt.Invert
}

// matchAny reports whether f passes any of filters; no filters pass everything.
func matchAny(filters []Filter, f *Frame) bool {
	if len(filters) == 0 {
		return true
	}
	for _, flt := range filters {
		if flt.Match(f) {
			return true
		}
	}
	return false
}
