package canrecorder

import (
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

// A reader slower than the bus but taking frames all along is not a
// stalled one: the tail holds the recorder back and loses nothing, even
// when working through one backlog takes longer than the stall time.
func TestTailSlowReaderIsNotStalled(t *testing.T) {
	const backlog, stall, n = 64, 50 * time.Millisecond, 3 * 64
	tl := newTail(nil, backlog, stall)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for i := range n {
			tl.push(can.Frame{ID: uint32(i & 0x7FF), Len: 1, Data: [64]byte{byte(i)}})
		}
	}()
	got := 0
	tl.frames(ctx, func(f can.Frame, err error) bool {
		if err != nil {
			t.Fatalf("after %d frames: %v", got, err)
		}
		if f.Data[0] != byte(got) {
			t.Fatalf("frame %d carries %d", got, f.Data[0])
		}
		got++
		time.Sleep(2 * time.Millisecond) // 64 frames take ~130 ms > stall
		return got < n
	})
	tl.end()
	if got != n {
		t.Fatalf("%d frames of %d", got, n)
	}
}

// A reader that takes nothing for the stall time ends the tail with an
// error, once what was queued is delivered.
func TestTailStalledReaderEndsIt(t *testing.T) {
	tl := newTail(nil, 4, 20*time.Millisecond)
	for i := range 4 {
		tl.push(can.Frame{ID: uint32(i), Len: 0})
	}
	tl.push(can.Frame{ID: 4}) // the queue is full: waits the stall out
	var frames int
	var err error
	tl.frames(context.Background(), func(_ can.Frame, e error) bool {
		if e != nil {
			err = e
			return false
		}
		frames++
		return true
	})
	if frames != 4 || err == nil {
		t.Fatalf("%d frames, error %v; want the 4 queued, then the stall's error", frames, err)
	}
}
