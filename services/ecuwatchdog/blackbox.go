package ecuwatchdog

import (
	"context"
	"sync"
	"time"

	"github.com/bgkit/bgkit/can"
)

// Frame is a frame of the black box: when it was seen and the frame in
// cansend text ("7E8#027E00CCCCCCCCCC").
type Frame struct {
	Time  time.Time `json:"time" doc:"When the frame was seen."`
	Frame string    `json:"frame" doc:"The frame in cansend text, e.g. 7E8#027E00CCCCCCCCCC."`
}

// blackBox keeps the last frames seen on a bus.
type blackBox struct {
	mu   sync.Mutex
	buf  []can.Received
	next int
	full bool
}

func newBlackBox(n int) *blackBox { return &blackBox{buf: make([]can.Received, n)} }

// record reads b until it is closed, keeping the last frames.
func (x *blackBox) record(b can.Bus) {
	for {
		r, err := b.Recv(context.Background())
		if err != nil {
			return // closed by Shutdown (or the bus failed)
		}
		x.mu.Lock()
		x.buf[x.next] = r
		x.next = (x.next + 1) % len(x.buf)
		x.full = x.full || x.next == 0
		x.mu.Unlock()
	}
}

// snapshot returns the frames kept, oldest first.
func (x *blackBox) snapshot() []Frame {
	x.mu.Lock()
	defer x.mu.Unlock()
	var rs []can.Received
	if x.full {
		rs = append(rs, x.buf[x.next:]...)
	}
	rs = append(rs, x.buf[:x.next]...)
	out := make([]Frame, len(rs))
	for i, r := range rs {
		out[i] = Frame{Time: r.Time, Frame: r.Frame.String()}
	}
	return out
}
