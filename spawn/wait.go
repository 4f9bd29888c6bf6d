package spawn

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/logfwd"
)

// The waits of stopping, in one place.
//
// Once an instance's exit is observed (cmd.Wait, which uses a pidfd on
// Linux; an agent's exit event), the parent waits on events only: EOF of
// the status pipe, the end-of-log marker relayed (logfwd.Relay.EOF), EOF
// of the output pipes. They share one budget: the grace period counted
// from Terminate's SIGTERM, or from the exit for an instance that exited
// on its own. A wait that gives up logs why.

// killedFloor is what the budget still allows after the exit when the
// grace period is spent (the parent killed the group at its end): the
// events that follow a kill come at once.
const killedFloor = 250 * time.Millisecond

// crashSettle is how long the records of a child that sent no end-of-log
// marker (it crashed or was killed) get, after a round trip to the
// server, to arrive: nothing else says when its last record is in.
const crashSettle = 100 * time.Millisecond

// stopBudget bounds the waits after one instance's exit.
type stopBudget struct {
	ctx    context.Context
	logger *slog.Logger
	grace  time.Duration
}

// newStopBudget starts the budget of an instance that exited at exitAt;
// termAt is when it was asked to stop (zero if it was not).
func newStopBudget(logger *slog.Logger, grace time.Duration, termAt, exitAt time.Time) (stopBudget, context.CancelFunc) {
	deadline := exitAt.Add(grace)
	if !termAt.IsZero() {
		deadline = termAt.Add(grace)
	}
	if floor := exitAt.Add(killedFloor); deadline.Before(floor) {
		deadline = floor
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	return stopBudget{ctx: ctx, logger: logger, grace: grace}, cancel
}

// await waits for ch to close. When the budget runs out first it logs
// what it gave up on and why, and returns false.
func (b stopBudget) await(what, why string, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-b.ctx.Done():
		b.logger.Warn("gave up waiting for "+what, "why", why, "grace", b.grace)
		return false
	}
}

// drainLogs waits until the instance's records have been relayed: for the
// end-of-log marker if the child said it sent one, else for crashSettle.
func (b stopBudget) drainLogs(relay *logfwd.Relay, nc *nats.Conn, flushed bool) {
	if flushed {
		b.await("the end of the log", "the end-of-log marker the child sent has not arrived", relay.EOF())
		return
	}
	if err := nc.FlushWithContext(b.ctx); err != nil {
		b.logger.Debug("flush before relaying a crashed child's last records", "err", err)
	}
	t := time.NewTimer(crashSettle)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.ctx.Done():
	}
}
