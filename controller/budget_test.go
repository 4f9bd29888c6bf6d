package controller

import (
	"testing"
	"time"
)

// The budget sent to the service rounds up: its deadline never comes
// before the caller's, and under a millisecond left is still a deadline
// (rounded down it was "0", which the service reads as none).
func TestBudgetRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{500 * time.Microsecond, "1"},
		{10 * time.Millisecond, "10"},     // 9.99… ms by the time it is read
		{2500 * time.Millisecond, "2500"}, // likewise
	} {
		if got := budgetMS(time.Now().Add(tc.left)); got != tc.want {
			t.Errorf("budgetMS(now + %v) = %s, want %s", tc.left, got, tc.want)
		}
	}
}
