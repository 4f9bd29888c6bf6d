package isotp

import (
	"context"
	"fmt"
	"time"

	"github.com/bgkit/bgkit/can"
)

// reassembly is the state of a segmented reception.
type reassembly struct {
	active   bool
	buf      []byte
	want     int       // FF_DL
	sn       uint8     // next expected sequence number
	cfData   int       // data bytes in a full CF (RX_DL − PCI − address)
	left     int       // CFs left in the block; 0 when BlockSize is 0
	deadline time.Time // N_Cr
}

// abort ends the reception in progress and reports err to Recv.
func (c *Conn) abort(err error) {
	c.rx = reassembly{}
	c.deliver(result{err: err})
}

// maxSFLen is the most data a single frame of rxDL bytes may carry.
func (c *Conn) maxSFLen(rxDL int) int {
	if rxDL > can.MaxClassicLen {
		return rxDL - 2 - c.c.aeLen()
	}
	return MaxClassicSFLen - c.c.aeLen()
}

// firstFrame starts a reception with p, received in a frame of rxDL bytes.
func (c *Conn) firstFrame(ctx context.Context, rxDL int, p PDU) {
	// A first frame fills its frame (which sets RX_DL) and announces more
	// than a single frame of that size could carry; others are ignored,
	// and do not disturb a reception in progress.
	if rxDL < can.MaxClassicLen || uint64(p.Length) <= uint64(c.maxSFLen(rxDL)) {
		return
	}
	if c.rx.active {
		c.abort(ErrUnexpectedPDU)
	}
	if uint64(p.Length) > uint64(c.c.maxMsg) || len(c.rxq) == cap(c.rxq) {
		_ = c.sendFC(ctx, FlowOverflow) // nothing to abort if it fails
		return
	}
	buf := make([]byte, 0, p.Length)
	c.rx = reassembly{
		active: true,
		buf:    append(buf, p.Data...),
		want:   int(p.Length),
		sn:     1,
		cfData: rxDL - 1 - c.c.aeLen(),
		left:   int(c.c.bs),
	}
	if err := c.sendFC(ctx, FlowContinue); err != nil {
		c.abort(fmt.Errorf("send flow control: %w", err))
		return
	}
	c.rx.deadline = time.Now().Add(c.c.nCr)
}

// consecutiveFrame adds p to the reception in progress.
func (c *Conn) consecutiveFrame(ctx context.Context, p PDU) {
	if p.SeqNum != c.rx.sn {
		c.abort(&SequenceError{Want: c.rx.sn, Got: p.SeqNum})
		return
	}
	take := min(c.rx.want-len(c.rx.buf), c.rx.cfData)
	if len(p.Data) < take {
		c.abort(fmt.Errorf("%w: CF %d carries %d bytes, want %d", ErrWrongLength, p.SeqNum, len(p.Data), take))
		return
	}
	c.rx.buf = append(c.rx.buf, p.Data[:take]...)
	c.rx.sn = (c.rx.sn + 1) & 0x0F
	if len(c.rx.buf) == c.rx.want {
		msg := c.rx.buf
		c.rx = reassembly{}
		c.deliver(result{msg: msg})
		return
	}
	if c.rx.left > 0 {
		c.rx.left--
		if c.rx.left == 0 {
			c.rx.left = int(c.c.bs)
			if err := c.sendFC(ctx, FlowContinue); err != nil {
				c.abort(fmt.Errorf("send flow control: %w", err))
				return
			}
		}
	}
	c.rx.deadline = time.Now().Add(c.c.nCr)
}

// sendFC sends a flow control frame with this Conn's block size and STmin.
func (c *Conn) sendFC(ctx context.Context, fs FlowStatus) error {
	f, err := c.c.frame(c.c.txID, c.c.txAE, PDU{Type: FlowControl, Status: fs, BlockSize: c.c.bs, STmin: c.c.stmin})
	if err != nil {
		return err
	}
	return c.sendFrame(ctx, f)
}
