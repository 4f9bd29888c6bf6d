package diagtraffic

import (
	"errors"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/services/ecusim"
)

// TestHugeDuration: a duration_ms of about 317 years overflows
// time.Duration; the run must not end at once with reason "duration"
// before sending anything. New may refuse the value instead.
func TestHugeDuration(t *testing.T) {
	args := Args{DurationMS: 10_000_000_000_000, Autostart: true,
		Requests: []Request{{Name: "tp", Data: "3E 00", PeriodMS: 1000}}}
	if _, err := New(args); err != nil {
		if !errors.Is(err, ErrInvalidArgs) {
			t.Fatalf("New: %v, want ErrInvalidArgs", err)
		}
		return
	}
	b := bgkittest.Bus(t)
	serveECU(t, b, ecusim.Args{})
	c := serve(t, b, args)
	deadline := time.Now().Add(waitTimeout)
	for {
		st, err := c.Stats(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running || st.Sent > 0 {
			if !st.Running {
				t.Fatalf("duration_ms 1e13: the run ended at once (ended %q, sent %d)", st.Ended, st.Sent)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request sent: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}
