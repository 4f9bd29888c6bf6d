package can

import (
	"context"
	"sync"
	"time"
)

// Hub is an in-process CAN bus for tests: every node attached with Attach
// receives the frames the other nodes send. The zero value is not usable; use
// NewHub.
type Hub struct {
	mu    sync.Mutex
	nodes map[*HubNode]struct{}
	now   func() time.Time
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{nodes: make(map[*HubNode]struct{}), now: time.Now}
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
	h.mu.Lock()
	r := Received{Time: h.now(), Frame: f}
	peers := make([]*HubNode, 0, len(h.nodes))
	for p := range h.nodes {
		if p != n && matchAny(p.filters, &f) {
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
