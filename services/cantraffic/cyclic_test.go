package cantraffic

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/controller"

	"github.com/bgkit/bgkit/bgkittest"
)

// TestCyclic: each message keeps its own period, and set_payload changes
// what the next frame carries.
func TestCyclic(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	c := serve(t, b, Args{
		Cyclic: []CyclicMessage{
			{ID: 0x100, Data: "01", PeriodMS: 10},
			{ID: 0x18DAF110, Data: "02", PeriodMS: 30, Extended: true},
			{ID: 0x200, Data: "0304", PeriodMS: 15, BRS: true},
		},
		Autostart: true,
	})
	ctx := testCtx(t)

	// Count frames until the 30 ms message has been seen 11 times: a
	// window of 10 of its periods, 300 ms. Over it: 30 frames of 100
	// (10 ms), 20 of 200 (15 ms), give or take one at each end.
	retryTiming(t, func() error {
		counts := map[uint32]int{}
		var first, last time.Time
		for counts[0x18DAF110] < 11 {
			r, err := node.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.ID == 0x18DAF110 {
				if counts[r.ID] == 0 {
					first = r.Time
				}
				last = r.Time
			}
			if counts[0x18DAF110] > 0 || r.ID == 0x18DAF110 {
				counts[r.ID]++
			}
			switch r.ID {
			case 0x100:
				if r.String() != "100#01" {
					t.Errorf("frame %v", r.Frame)
				}
			case 0x200:
				if r.String() != "200##10304" {
					t.Errorf("frame %v", r.Frame)
				}
			}
		}
		var errs []error
		if d := last.Sub(first); d < 290*time.Millisecond || d > 330*time.Millisecond {
			errs = append(errs, fmt.Errorf("10 periods of 30 ms took %v", d))
		}
		if n := counts[0x100]; n < 29 || n > 31 {
			errs = append(errs, fmt.Errorf("%d frames of the 10 ms message in 10 periods of 30 ms, want 30 ± 1", n))
		}
		if n := counts[0x200]; n < 19 || n > 21 {
			errs = append(errs, fmt.Errorf("%d frames of the 15 ms message in 10 periods of 30 ms, want 20 ± 1", n))
		}
		return errors.Join(errs...)
	})

	if err := c.SetPayload(ctx, SetPayloadArgs{ID: 0x100, Data: "AABB"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		r, err := node.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == 0x100 && r.String() == "100#AABB" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new payload did not show within a second")
		}
	}
	st := stats(t, c)
	if st.Mode != ModeCyclic || len(st.Cyclic) != 3 || st.Cyclic[0].Data != "AABB" || st.Cyclic[0].Sent == 0 || !st.Running {
		t.Errorf("stats %+v", st)
	}

	for _, a := range []SetPayloadArgs{
		{ID: 0x101, Data: "00"},
		{ID: 0x100, Data: "0"},
		{ID: 0x100, Data: "112233445566778899"},
	} {
		if err := c.SetPayload(ctx, a); !errors.Is(err, controller.ErrBadRequest) {
			t.Errorf("set_payload %+v = %v, want a bad request", a, err)
		}
	}
	if err := c.Call(ctx, "set_payload", map[string]any{"id": "zz", "data": "00"}, nil); !errors.Is(err, controller.ErrBadRequest) {
		t.Errorf("set_payload with id zz = %v, want a bad request", err)
	}
	if err := c.SetGap(ctx, 5); !errors.Is(err, controller.ErrBadRequest) {
		t.Errorf("set_gap in cyclic mode = %v, want a bad request", err)
	}
}

// TestSetPayloadExtended: a standard and an extended message with the
// same number are told apart by extended.
func TestSetPayloadExtended(t *testing.T) {
	s, err := New(Args{Cyclic: []CyclicMessage{
		{ID: 0x123, Data: "01", PeriodMS: 10},
		{ID: 0x123, Data: "02", PeriodMS: 10, Extended: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.run.(*cyclicRunner).setPayload(SetPayloadArgs{ID: 0x123, Data: "EE", Extended: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.run.(*cyclicRunner).setPayload(SetPayloadArgs{ID: 0x0123, Data: "DD"}); err != nil {
		t.Fatal(err)
	}
	cr := s.run.(*cyclicRunner)
	if got := []string{cr.msgs[0].next().String(), cr.msgs[1].next().String()}; got[0] != "123#DD" || got[1] != "00000123#EE" {
		t.Errorf("frames %v", got)
	}
	if err := s.run.(*cyclicRunner).setPayload(SetPayloadArgs{ID: 0x124, Data: "DD"}); !errors.Is(err, ErrNoMessage) {
		t.Errorf("unknown id: %v", err)
	}
}

// TestCyclicNoBurst: after a stall, each due message is sent once, not once
// per missed period.
func TestCyclicNoBurst(t *testing.T) {
	s, err := New(Args{Cyclic: []CyclicMessage{{ID: 0x1, Data: "01", PeriodMS: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	hub := can.NewHub()
	fb := &stallBus{Bus: hub.Attach(), release: make(chan struct{})}
	node := hub.Attach()
	defer node.Close()
	s.life, s.bus = t.Context(), fb
	ctx := testCtx(t)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	recvN(t, node, 1)
	time.Sleep(30 * time.Millisecond) // the stall under test: 30 periods
	close(fb.release)
	got := recvN(t, node, 6)
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	fb.Bus.Close()
	// The stalled frame goes out on release, then one per period: the
	// five after it take about 5 ms, not 0 (a burst of missed periods).
	if d := got[5].Time.Sub(got[1].Time); d < 3*time.Millisecond {
		t.Errorf("4 frames after a stall took %v: a burst", d)
	}
}

// stallBus blocks the second send until release is closed.
type stallBus struct {
	can.Bus
	n       int
	release chan struct{}
}

func (b *stallBus) Send(ctx context.Context, f can.Frame) error {
	b.n++
	if b.n == 2 {
		<-b.release
	}
	return b.Bus.Send(ctx, f)
}
