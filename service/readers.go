package service

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// How calls reach methods.
//
// The service subscription queues requests; readers take them from it
// (NextMsgWithContext), and each handles the call it took itself, reply included:
// a call costs no hand-off between goroutines, as with a bare nats.go
// responder (a hand-off per call cost about a fifth of the child's CPU).
// Under load one reader takes call after call without ever parking.
//
// A slow method must not hold up the calls behind it. While a reader has
// been in one call for stallAfter, readers are started for the calls
// queued and one more to wait for the next, up to WithConcurrency readers
// in all: a call queued behind a slow one waits about stallAfter longer
// (timers here fire with ~1 ms granularity), never for the slow call. A
// reader that finds another waiting after its call ends.
const (
	// callQueue is how many requests may wait for a reader, and
	// callQueueBytes how many bytes they may hold in all; past either the
	// connection drops them as a slow consumer's (and says so in the log).
	callQueue      = 1 << 16
	callQueueBytes = 64 << 20
	stallAfter     = time.Millisecond
)

// startReader starts a reader unless WithConcurrency are running or the
// server is stopping.
func (s *server) startReader() bool {
	s.readersMu.Lock()
	defer s.readersMu.Unlock()
	if s.readers.Load() >= int64(s.o.concurrency) || s.quit.Err() != nil {
		return false
	}
	s.readers.Add(1)
	s.alive++
	go s.read()
	return true
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// read is a reader: it takes requests and handles them until the server
// stops, or until it finds another reader waiting after a call.
func (s *server) read() {
	defer s.readerGone()
	stall := time.AfterFunc(time.Hour, s.stalled)
	stall.Stop()
	defer stall.Stop()
	for {
		s.idle.Add(1)
		m, err := s.calls.NextMsgWithContext(s.quit)
		s.idle.Add(-1)
		if errors.Is(err, nats.ErrSlowConsumer) {
			continue // requests were dropped: the connection's error handler says so
		}
		if err != nil { // stopping
			s.readers.Add(-1)
			return
		}
		stall.Reset(stallAfter)
		s.onRequest(m)
		stall.Stop()
		if s.idle.Load() > 0 && s.leave() {
			return
		}
	}
}

// readerGone counts a returning reader out of alive; the last one once
// quit has ended tells stop.
func (s *server) readerGone() {
	s.readersMu.Lock()
	s.alive--
	if s.alive == 0 && s.quit.Err() != nil {
		close(s.gone)
	}
	s.readersMu.Unlock()
}

// leave counts a reader out, unless it is the last.
func (s *server) leave() bool {
	for {
		n := s.readers.Load()
		if n <= 1 {
			return false
		}
		if s.readers.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// stalled runs when a reader has been in one call for stallAfter: unless
// a reader waits, it starts one for each call queued and one more.
func (s *server) stalled() {
	if s.idle.Load() > 0 {
		return
	}
	queued, _, _ := s.calls.Pending()
	for range queued + 1 {
		if !s.startReader() {
			return
		}
	}
}

// refuseQueued answers the requests still queued when the server stops
// (the readers take none once quit has ended), then ends the subscription.
func (s *server) refuseQueued() {
	if s.calls == nil {
		return
	}
	defer s.calls.Unsubscribe()
	for {
		if n, _, err := s.calls.Pending(); err != nil || n == 0 {
			return
		}
		// One is queued: a short wait only guards against a reader that
		// took it as quit closed.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		m, err := s.calls.NextMsgWithContext(ctx)
		cancel()
		switch {
		case errors.Is(err, nats.ErrSlowConsumer):
		case err != nil:
			return
		case s.replyAllowed(m):
			_ = s.respondError(m, nil, CodeUnavailable, bus.ShuttingDown(s.o.name))
		}
	}
}
