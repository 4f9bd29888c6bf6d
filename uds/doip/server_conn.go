package doip

import (
	"context"
	"errors"
	"net"
	"time"
)

// diagQueueLen is how many diagnostic messages a connection holds for its
// Handler; more are refused with DiagNACKOutOfMemory.
const diagQueueLen = 16

// serverConn is one tester's TCP connection to a Server. Its reader
// goroutine (serve) checks and acknowledges messages; its worker goroutine
// (work) calls the Handler in order, so the reader stays free to take alive
// check responses while a Handler runs.
type serverConn struct {
	s      *Server
	conn   net.Conn
	w      msgWriter
	ctx    context.Context
	cancel context.CancelFunc
	alive  chan struct{}          // an alive check response arrived
	diag   chan DiagnosticMessage // to the worker; closed by serve

	// Guarded by s.mu.
	active bool   // routing activated
	sa     uint16 // the tester's address, once active
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	sc := &serverConn{
		s:     s,
		conn:  nc,
		w:     msgWriter{conn: nc, version: s.cfg.Version},
		alive: make(chan struct{}, 1),
		diag:  make(chan DiagnosticMessage, diagQueueLen),
	}
	sc.ctx, sc.cancel = context.WithCancel(s.ctx)
	return sc
}

// serverTCPSupported lists the payload types an entity serves on TCP_DATA.
func serverTCPSupported(t PayloadType) bool {
	switch t {
	case TypeRoutingActivationRequest, TypeAliveCheckResponse, TypeDiagnosticMessage:
		return true
	}
	return false
}

func (sc *serverConn) serve() {
	s := sc.s
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		sc.active = false
		s.mu.Unlock()
		sc.cancel()
		sc.conn.Close()
		close(sc.diag)
		s.wg.Done()
	}()
	r := NewReader(sc.conn)
	r.MaxPayload = s.cfg.MaxPayload
	r.Supported = serverTCPSupported
	r.Versions = entityVersion // VersionDefault is for UDP identification only
	for {
		if err := sc.conn.SetReadDeadline(sc.readDeadline()); err != nil {
			return
		}
		_, m, err := r.ReadMessage()
		if err != nil {
			if herr, ok := errors.AsType[*HeaderError](err); ok {
				s.log.Debug("doip: refused header", "remote", sc.conn.RemoteAddr(), "err", err)
				sc.send(GenericNACK{Code: herr.Code})
				if !herr.Code.ClosesSocket() {
					continue
				}
			}
			s.log.Debug("doip: connection closed", "remote", sc.conn.RemoteAddr(), "err", err)
			return
		}
		if !sc.handle(m) {
			return
		}
	}
}

func (sc *serverConn) readDeadline() time.Time {
	sc.s.mu.Lock()
	d := sc.s.cfg.InitialInactivity
	if sc.active {
		d = sc.s.cfg.GeneralInactivity
	}
	sc.s.mu.Unlock()
	if d < 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// handle acts on one message; false closes the connection.
func (sc *serverConn) handle(m Message) bool {
	s := sc.s
	switch m := m.(type) {
	case RoutingActivationRequest:
		code := s.activate(sc, m)
		s.log.Debug("doip: routing activation", "remote", sc.conn.RemoteAddr(),
			"source", m.SourceAddress, "code", code.String())
		sc.send(RoutingActivationResponse{
			TesterAddress: m.SourceAddress,
			EntityAddress: s.cfg.LogicalAddress,
			Code:          code,
		})
		return !code.closesSocket()
	case AliveCheckResponse:
		select {
		case sc.alive <- struct{}{}:
		default:
		}
	case DiagnosticMessage:
		return sc.diagnostic(m)
	}
	return true
}

func (sc *serverConn) diagnostic(m DiagnosticMessage) bool {
	s := sc.s
	nack := func(code DiagNACKCode) {
		sc.send(DiagnosticNACK{SourceAddress: m.TargetAddress, TargetAddress: m.SourceAddress, Code: code})
	}
	s.mu.Lock()
	active, sa := sc.active, sc.sa
	s.mu.Unlock()
	switch {
	case !active || m.SourceAddress != sa:
		nack(DiagNACKInvalidSourceAddress)
		return false
	case !s.targets[m.TargetAddress]:
		nack(DiagNACKUnknownTargetAddress)
	case s.cfg.Handler == nil:
		nack(DiagNACKTargetUnreachable)
	case len(sc.diag) == cap(sc.diag):
		nack(DiagNACKOutOfMemory)
	default:
		sc.send(DiagnosticACK{SourceAddress: m.TargetAddress, TargetAddress: m.SourceAddress})
		sc.diag <- m // serve is the only sender and there is room
	}
	return true
}

// work calls the Handler for each diagnostic message and sends its response.
func (sc *serverConn) work() {
	defer sc.s.wg.Done()
	for m := range sc.diag {
		if sc.ctx.Err() != nil {
			continue
		}
		resp, ok := sc.s.cfg.Handler(sc.ctx, m.SourceAddress, m.TargetAddress, m.Data)
		if !ok || len(resp) == 0 {
			continue
		}
		sa := m.TargetAddress
		if sc.s.funcs[sa] {
			sa = sc.s.cfg.LogicalAddress // the responding entity, not the group
		}
		sc.send(DiagnosticMessage{SourceAddress: sa, TargetAddress: m.SourceAddress, Data: resp})
	}
}

// send writes m; a failed write closes the connection.
func (sc *serverConn) send(m Message) {
	ctx, cancel := context.WithTimeout(sc.ctx, writeTimeout)
	defer cancel()
	if err := sc.w.write(ctx, m); err != nil {
		sc.conn.Close()
	}
}

// aliveCheck sends an alive check request and reports whether the tester
// answered within the AliveCheckTimeout.
func (sc *serverConn) aliveCheck() bool {
	select {
	case <-sc.alive:
	default:
	}
	sc.send(AliveCheckRequest{})
	t := time.NewTimer(sc.s.cfg.AliveCheckTimeout)
	defer t.Stop()
	select {
	case <-sc.alive:
		return true
	case <-t.C:
		return false
	case <-sc.ctx.Done():
		return false
	}
}

// drop unregisters the connection and closes it.
func (sc *serverConn) drop(reason string) {
	sc.s.mu.Lock()
	sc.active = false
	sc.s.mu.Unlock()
	sc.s.log.Debug("doip: connection dropped", "remote", sc.conn.RemoteAddr(), "reason", reason)
	sc.conn.Close()
}
