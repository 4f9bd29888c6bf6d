package can

import (
	"context"
	"sync"
	"time"

	"github.com/bgkit/bgkit/internal/deadline"
)

// Hub is an in-process CAN bus for tests: every node attached with Attach
// receives the frames the other nodes send. The zero value is not usable; use
// NewHub.
//
// By default frames pass as fast as the nodes exchange them. With
// WithBitrate the hub paces them as a real bus would: see FrameDuration.
type Hub struct {
	mu    sync.Mutex
	nodes map[*HubNode]struct{}
	now   func() time.Time

	bitrate, dataBitrate int
	// tx is held by the frame on the bus (capacity 1), when paced.
	tx chan struct{}
	// busFree is when the bus is next idle; guarded by tx.
	busFree time.Time
}

// HubOption configures a Hub.
type HubOption func(*Hub)

// WithBitrate makes the hub pace frames as a bus with this nominal bitrate
// in bit/s (e.g. 500_000): one frame at a time, each taking FrameDuration.
// A sender waits until its frame has been "transmitted", and receivers
// see that moment as the frame's time. Zero (the default) disables pacing.
func WithBitrate(bitsPerSecond int) HubOption {
	return func(h *Hub) { h.bitrate = max(bitsPerSecond, 0) }
}

// WithDataBitrate sets the CAN FD data-phase bitrate used for frames with
// BRS set (e.g. 2_000_000). It defaults to the nominal bitrate.
func WithDataBitrate(bitsPerSecond int) HubOption {
	return func(h *Hub) { h.dataBitrate = max(bitsPerSecond, 0) }
}

// NewHub returns an empty hub.
func NewHub(opts ...HubOption) *Hub {
	h := &Hub{nodes: make(map[*HubNode]struct{}), now: time.Now}
	for _, opt := range opts {
		opt(h)
	}
	if h.bitrate > 0 {
		h.tx = make(chan struct{}, 1)
		if h.dataBitrate == 0 {
			h.dataBitrate = h.bitrate
		}
	}
	return h
}

// HubNode is one node on a Hub. It implements Bus.
type HubNode struct {
	hub     *Hub
	filters []Filter
	ch      chan Received
	done    chan struct{}
	once    sync.Once
}

// hubQueue is the receive queue of one node; a full queue blocks senders,
// like a bus that is busy.
const hubQueue = 4096

// Attach adds a node to the hub. A node with filters receives only the
// frames that pass at least one of them.
func (h *Hub) Attach(filters ...Filter) *HubNode {
	n := &HubNode{
		hub:     h,
		filters: filters,
		ch:      make(chan Received, hubQueue),
		done:    make(chan struct{}),
	}
	h.mu.Lock()
	h.nodes[n] = struct{}{}
	h.mu.Unlock()
	return n
}

// Send delivers f to every other attached node whose filters it passes.
// On a paced hub (WithBitrate) it first waits for the bus to be idle, then
// for the frame's duration.
func (n *HubNode) Send(ctx context.Context, f Frame) error {
	if err := f.Validate(); err != nil {
		return err
	}
	select {
	case <-n.done:
		return ErrClosed
	default:
	}
	h := n.hub
	if h.tx == nil {
		return n.deliver(ctx, &f, h.now())
	}
	select {
	case h.tx <- struct{}{}:
	case <-n.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.tx }()
	start := h.now()
	if start.Before(h.busFree) {
		start = h.busFree // back to back with the previous frame
	}
	end := start.Add(FrameDuration(&f, h.bitrate, h.dataBitrate))
	if err := h.sleepUntil(ctx, end); err != nil {
		return err
	}
	h.busFree = end
	return n.deliver(ctx, &f, end)
}

// deliver queues f, stamped t, at every other node its filters pass.
func (n *HubNode) deliver(ctx context.Context, f *Frame, t time.Time) error {
	h := n.hub
	r := Received{Time: t, Frame: *f}
	var buf [8]*HubNode
	peers := buf[:0]
	h.mu.Lock()
	for p := range h.nodes {
		if p != n && matchAny(p.filters, f) {
			peers = append(peers, p)
		}
	}
	h.mu.Unlock()
	for _, p := range peers {
		select {
		case p.ch <- r:
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// sleepUntil waits until the hub's clock reaches t.
func (h *Hub) sleepUntil(ctx context.Context, t time.Time) error {
	w := deadline.Waiter{Now: h.now}
	defer w.Stop()
	return w.Until(ctx, t, nil)
}

// Recv returns the next frame sent by another node.
func (n *HubNode) Recv(ctx context.Context) (Received, error) {
	select {
	case r := <-n.ch:
		return r, nil
	case <-n.done:
		return Received{}, ErrClosed
	case <-ctx.Done():
		return Received{}, ctx.Err()
	}
}

// Close detaches the node from the hub.
func (n *HubNode) Close() error {
	n.once.Do(func() {
		n.hub.mu.Lock()
		delete(n.hub.nodes, n)
		n.hub.mu.Unlock()
		close(n.done)
	})
	return nil
}
