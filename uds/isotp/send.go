package isotp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/bgkit/bgkit/can"

	"github.com/bgkit/bgkit/internal/deadline"
)

// Send transmits msg to the peer: in a single frame when it fits, else as a
// first frame and consecutive frames paced by the receiver's flow control.
// Concurrent calls are serialised. Messages longer than 4095 bytes use the
// 32-bit first frame length of ISO 15765-2:2016. When the receiver refuses
// the message (FC OVFLW, no flow control within N_Bs, more WAITs than
// N_WFTmax, a reserved flow status) the error's MessageLost method reports
// true: the Conn sends the next message normally.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if err := c.send(ctx, msg); err != nil {
		if errors.Is(err, ErrTimeoutBs) || errors.Is(err, ErrOverflow) ||
			errors.Is(err, ErrWaitLimit) || errors.Is(err, ErrInvalidFlowStatus) {
			err = lostError{err} // the receiver refused this message; the Conn goes on
		}
		return fmt.Errorf("isotp send: %w", err)
	}
	return nil
}

// SendFunctional transmits msg to the functional address (FunctionalID, or
// the functional identifier of normal fixed and 29-bit mixed addressing).
// Functional requests are single frames only: a longer msg fails with
// ErrMessageTooLong.
func (c *Conn) SendFunctional(ctx context.Context, msg []byte) error {
	if err := c.sendFunctional(ctx, msg); err != nil {
		return fmt.Errorf("isotp send functional: %w", err)
	}
	return nil
}

func (c *Conn) sendFunctional(ctx context.Context, msg []byte) error {
	if !c.c.functional {
		return fmt.Errorf("%w: no functional identifier", ErrInvalidConfig)
	}
	if len(msg) == 0 || len(msg) > c.c.maxSF {
		return fmt.Errorf("%w: %d bytes, a single frame holds 1–%d", ErrMessageTooLong, len(msg), c.c.maxSF)
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	return c.sendSingle(ctx, c.c.fTxID, c.c.fAE, msg)
}

// acquire takes the send token.
func (c *Conn) acquire(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	select {
	case c.sendSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.stopErr()
	}
}

func (c *Conn) release() { <-c.sendSem }

func (c *Conn) sendSingle(ctx context.Context, id uint32, ae byte, msg []byte) error {
	p := PDU{Type: SingleFrame, Data: msg, Escape: len(msg) > MaxClassicSFLen-c.c.aeLen()}
	f, err := c.c.frame(id, ae, p)
	if err != nil {
		return err
	}
	return c.sendFrame(ctx, f)
}

func (c *Conn) send(ctx context.Context, msg []byte) error {
	n := len(msg)
	if n == 0 || uint64(n) > math.MaxUint32 {
		return fmt.Errorf("%w: %d bytes", ErrMessageTooLong, n)
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	if n <= c.c.maxSF {
		return c.sendSingle(ctx, c.c.txID, c.c.txAE, msg)
	}

	ae := c.c.aeLen()
	esc := n > MaxFFLen12
	ffData := c.c.txDL - ae - 2
	if esc {
		ffData -= 4
	}
	cfData := c.c.txDL - ae - 1

	// Arm before the first frame goes out: the answer may come at once.
	c.armFC()
	defer c.disarmFC()
	tx := newTxGuard(ctx, c.c.nAs)
	defer tx.stop()
	f, err := c.c.frame(c.c.txID, c.c.txAE, PDU{Type: FirstFrame, Escape: esc, Length: uint32(n), Data: msg[:ffData]})
	if err != nil {
		return err
	}
	if err := tx.send(c.bus, f); err != nil {
		return err
	}

	tm := time.NewTimer(time.Hour)
	tm.Stop()
	defer tm.Stop()
	var pace deadline.Waiter
	defer pace.Stop()
	off, sn := ffData, uint8(1)
	for off < n {
		fc, err := c.waitFC(ctx, tm)
		if err != nil {
			return err
		}
		bs, gap := int(fc.BlockSize), fc.STmin.Duration()
		// Each CF is due STmin after the bus took the previous one (STmin
		// runs from the end of a frame), an absolute deadline, so waiting
		// errors do not accumulate.
		var last time.Time
		for i := 0; off < n && (bs == 0 || i < bs); i++ {
			if i > 0 && gap > 0 {
				if err := pace.Until(ctx, last.Add(gap), nil); err != nil {
					return err
				}
			}
			end := min(off+cfData, n)
			if bs != 0 && i == bs-1 && end < n {
				c.armFC() // the block's last CF: the next FC may come at once
			}
			f, err := c.c.frame(c.c.txID, c.c.txAE, PDU{Type: ConsecutiveFrame, SeqNum: sn, Data: msg[off:end]})
			if err != nil {
				return err
			}
			if err := tx.send(c.bus, f); err != nil {
				return err
			}
			last = time.Now()
			off, sn = end, (sn+1)&0x0F
		}
	}
	return nil
}

// waitFC waits for a flow control frame that lets the sender continue:
// it sits out up to N_WFTmax WAIT frames, each restarting N_Bs.
func (c *Conn) waitFC(ctx context.Context, tm *time.Timer) (PDU, error) {
	tm.Reset(c.c.nBs)
	defer tm.Stop()
	waits := 0
	for {
		ev, ok := c.nextFC()
		if !ok {
			select {
			case <-c.fcNotify:
				continue
			case <-tm.C:
				return PDU{}, ErrTimeoutBs
			case <-ctx.Done():
				return PDU{}, ctx.Err()
			case <-c.done:
				return PDU{}, c.stopErr()
			}
		}
		if ev.err != nil {
			return PDU{}, ev.err
		}
		switch ev.p.Status {
		case FlowContinue:
			c.disarmFC()
			return ev.p, nil
		case FlowWait:
			waits++
			if waits > c.c.wftMax {
				return PDU{}, fmt.Errorf("%w: %d WAIT frames, at most %d", ErrWaitLimit, waits, c.c.wftMax)
			}
			tm.Reset(c.c.nBs)
		default:
			return PDU{}, ErrOverflow
		}
	}
}

// txGuard bounds each frame of a message by N_As without a context per
// frame: one timer, reset for every frame, cancels the message's context
// when a frame takes too long.
type txGuard struct {
	ctx    context.Context
	cancel context.CancelFunc
	nAs    time.Duration
	timer  *time.Timer
	fired  atomic.Bool
}

func newTxGuard(parent context.Context, nAs time.Duration) *txGuard {
	g := &txGuard{nAs: nAs}
	g.ctx, g.cancel = context.WithCancel(parent)
	g.timer = time.AfterFunc(time.Hour, func() {
		g.fired.Store(true)
		g.cancel()
	})
	g.timer.Stop()
	return g
}

// send hands f to b within N_As.
func (g *txGuard) send(b can.Bus, f can.Frame) error {
	g.timer.Reset(g.nAs)
	err := b.Send(g.ctx, f)
	g.timer.Stop()
	if err != nil && g.fired.Load() {
		return ErrTimeoutAs
	}
	return err
}

func (g *txGuard) stop() {
	g.timer.Stop()
	g.cancel()
}
