package integration

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/spawn"
)

// The waits of spawn end on events, within the grace budget; a wait that
// gives up says why (issue 9, "Redesign the waits in spawn").

// TestLifeAgentSentinels: errors from an agent keep their sentinels.
func TestLifeAgentSentinels(t *testing.T) {
	url := startNatsServer(t)
	const agent = "rig-sentinels"
	startAgent(t, url, agent)
	b := connect(t, url)
	ctx := context.Background()
	registerLocalOnly()

	_, err := spawn.RunKind(ctx, b, "local-only", nil, spawn.OnAgent(agent))
	if !errors.Is(err, spawn.ErrNotRegistered) || !strings.Contains(err.Error(), `"local-only"`) {
		t.Errorf("RunKind of a kind the agent lacks = %v, want ErrNotRegistered naming the kind", err)
	}
	_, err = spawn.Run(ctx, b, NewCounterService, CounterArgs{Step: 1, FailInit: "no CAN interface can9"},
		spawn.OnAgent(agent), spawn.WithName("LIFE_SENTINEL"), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if !errors.Is(err, spawn.ErrStart) || errors.Is(err, spawn.ErrNotRegistered) || !strings.Contains(err.Error(), "can9") {
		t.Errorf("a failing Initialize on an agent = %v, want ErrStart with the reason", err)
	}
}
