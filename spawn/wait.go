package spawn

import (
	"context"
	"log/slog"
	"time"

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

// stopBudget bounds the waits after one instance's exit. Its timer is
// made by the first wait that has to block: after a clean stop every
// event has come by the reap, and nothing is waited for.
type stopBudget struct {
	deadline time.Time
	logger   *slog.Logger
	grace    time.Duration
	ctx      context.Context // nil until a wait blocks
	cancel   context.CancelFunc
}

// newStopBudget starts the budget of an instance that exited at exitAt;
// termAt is when it was asked to stop (zero if it was not). Call the
// returned func when done with the budget.
func newStopBudget(logger *slog.Logger, grace time.Duration, termAt, exitAt time.Time) (*stopBudget, func()) {
	deadline := exitAt.Add(grace)
	if !termAt.IsZero() {
		deadline = termAt.Add(grace)
	}
	if floor := exitAt.Add(killedFloor); deadline.Before(floor) {
		deadline = floor
	}
	b := &stopBudget{deadline: deadline, logger: logger, grace: grace}
	return b, b.release
}

// context is the budget's ctx, made on first use.
func (b *stopBudget) context() context.Context {
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithDeadline(context.Background(), b.deadline)
	}
	return b.ctx
}

func (b *stopBudget) release() {
	if b.cancel != nil {
		b.cancel()
	}
}

// await waits for ch to close. When the budget runs out first it logs
// what it gave up on and why, and returns false.
func (b *stopBudget) await(what, why string, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-b.context().Done():
		b.logger.Warn("gave up waiting for "+what, "why", why, "grace", b.grace)
		return false
	}
}

// drainLogs waits until the instance's records have been relayed: for the
// end-of-log marker if the child said it sent one, else (a crash) for a
// round trip on the relay's connection and crashSettle.
func (b *stopBudget) drainLogs(relay *logfwd.Relay, flushed bool) {
	if flushed {
		b.await("the end of the log", "the end-of-log marker the child sent has not arrived", relay.EOF())
		return
	}
	if err := relay.Conn().FlushWithContext(b.context()); err != nil {
		b.logger.Debug("flush before relaying a crashed child's last records", "err", err)
	}
	t := time.NewTimer(crashSettle)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.context().Done():
	}
}
