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

// TestCyclicPeriods: each message keeps its own period. The timing is
// that of the sender (see hubServe), over ten periods of the slowest
// message: the j-th frame of a message never goes before j periods from
// the start (exact: its deadlines are start + k·period, k rising by one
// at least per frame), and the median period of each message, over spans
// of 5 intervals, is within 5% of its own (a stall upsets the few spans
// across it, not the median); the three messages run interleaved, so a
// period taken from another message, or one in the wrong unit, fails.
func TestCyclicPeriods(t *testing.T) {
	periods := map[uint32]time.Duration{0x100: 10 * time.Millisecond, 0x18DAF110: 30 * time.Millisecond, 0x200: 15 * time.Millisecond}
	s, node := hubServe(t, Args{Cyclic: []CyclicMessage{
		{ID: 0x100, Data: "01", PeriodMS: 10},
		{ID: 0x18DAF110, Data: "02", PeriodMS: 30, Extended: true},
		{ID: 0x200, Data: "0304", PeriodMS: 15, BRS: true},
	}})
	ctx := testCtx(t)
	sent := 0 // frames of earlier attempts, all received
	retryTiming(t, func() error {
		start := time.Now()
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		times := map[uint32][]time.Time{}
		for len(times[0x18DAF110]) < 11 {
			r, err := node.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := periods[r.ID]; !ok {
				t.Fatalf("frame %v", r.Frame)
			}
			times[r.ID] = append(times[r.ID], r.Time)
		}
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// Take the frames sent since, so that the next attempt starts
		// with its own: Stop returns once the sender has exited, and the
		// hub has queued every frame it sent by then.
		n := 0
		for _, ts := range times {
			n += len(ts)
		}
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recvN(t, node, int(st.Sent)-sent-n)
		sent = int(st.Sent)
		var errs []error
		for id, p := range periods {
			for j, at := range times[id] {
				if d := at.Sub(start); d < time.Duration(j)*p {
					t.Errorf("frame %d of %X (period %v) at %v: early", j, id, p, d)
				}
			}
			if got := medianSpan(times[id], 5); got < p*95/100 || got > p*105/100 {
				errs = append(errs, fmt.Errorf("median period of %X %v, want %v ± 5%% (%d frames)", id, got, p, len(times[id])))
			}
		}
		return errors.Join(errs...)
	})
}

// TestCyclic: every message carries its payload, and set_payload changes
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

	seen := map[string]bool{}
	for len(seen) < 3 {
		r, err := node.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch r.ID {
		case 0x100, 0x18DAF110, 0x200:
			seen[r.String()] = true
		default:
			t.Fatalf("frame %v", r.Frame)
		}
	}
	if !seen["100#01"] || !seen["18DAF110#02"] || !seen["200##10304"] {
		t.Errorf("frames %v, want 100#01, 18DAF110#02 and 200##10304", seen)
	}

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
