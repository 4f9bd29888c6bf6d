package canmonitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/services/canmonitor"
)

// TestWaitHugeTimeout: timeout_ms is bounded by the caller's
// deadline; one that overflows time.Duration (about 317 years) must wait
// until that deadline, not time out at once.
func TestWaitHugeTimeout(t *testing.T) {
	_, send, _, svc := setupService(t)
	send("ABS_Status", map[string]float64{"VehicleSpeed": 12})
	const within = 150 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	deadline, _ := ctx.Deadline()
	_, err := svc.WaitSignal(ctx, canmonitor.WaitArgs{Signal: "VehicleSpeed", Op: ">=", Value: 50, TimeoutMS: 10_000_000_000_000})
	if err == nil {
		t.Fatal("wait for a value never sent succeeded")
	}
	if early := time.Until(deadline); early > 0 {
		t.Errorf("timeout_ms 1e13: gave up %v before the caller's deadline: %v", early, err)
	}
}
