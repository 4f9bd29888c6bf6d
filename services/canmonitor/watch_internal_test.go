package canmonitor

import (
	"slices"
	"testing"

	"github.com/bgkit/bgkit/internal/backlog"
)

// push queues what the watch selects: a signal's first value and its
// changes, or every value with every; the signals of its message only.
func TestWatchPushSelects(t *testing.T) {
	one, two := 1.0, 2.0
	changes := []SignalChange{
		{Message: "M", Signal: "A", Value: 1},                 // first value
		{Message: "M", Signal: "B", Value: 2, Previous: &one}, // a change
		{Message: "M", Signal: "C", Value: 2, Previous: &two}, // the same value again
		{Message: "N", Signal: "A", Value: 1},                 // another message
	}
	for _, tc := range []struct {
		every bool
		want  []string
	}{
		{false, []string{"A", "B"}},
		{true, []string{"A", "B", "C"}},
	} {
		w := &watch{msg: "M", every: tc.every, q: backlog.New[SignalChange](16)}
		w.push(changes)
		batch := make([]SignalChange, 16)
		n, _ := w.q.Take(batch)
		var got []string
		for _, c := range batch[:n] {
			got = append(got, c.Signal)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("every=%v: queued %v, want %v", tc.every, got, tc.want)
		}
	}
}
