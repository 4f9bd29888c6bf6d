package doip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// DefaultEntityAddress is the entity's logical address a Server uses when
// ServerConfig.LogicalAddress is zero.
const DefaultEntityAddress uint16 = 0x1000

// Handler answers one diagnostic message: sourceAddr is the tester,
// targetAddr the addressed target, data the UDS request. It returns the UDS
// response and true, or false to send none (e.g. for a request with the
// suppress-positive-response bit). The Server has already sent the
// diagnostic message ACK. ctx ends when the connection closes.
type Handler func(ctx context.Context, sourceAddr, targetAddr uint16, data []byte) (resp []byte, ok bool)

// ServerConfig configures a Server. The zero value is valid: an entity with
// address DefaultEntityAddress on port 13400 of every interface that
// accepts every tester and answers no diagnostic message.
type ServerConfig struct {
	// Addr is the TCP address to listen on; "" means ":13400". Use
	// "127.0.0.1:0" in tests.
	Addr string
	// UDPAddr is the UDP address for vehicle identification, entity status
	// and power mode requests; "" means Addr (a port 0 picks a port of its
	// own: see Server.UDPAddr).
	UDPAddr string

	// LogicalAddress is the entity's logical address; zero means
	// DefaultEntityAddress.
	LogicalAddress uint16
	// TargetAddresses are the addresses whose diagnostic messages go to
	// Handler (a gateway's nodes, functional addresses); empty means
	// LogicalAddress only. Others are refused with DiagNACKUnknownTargetAddress.
	TargetAddresses []uint16
	// FunctionalAddresses are functional (group) addresses, such as
	// 0xE400, whose diagnostic messages also go to Handler. ISO 13400-2
	// has the responses to them come from the entity's LogicalAddress, not
	// from the functional address; their ACK comes from the address
	// the tester sent to.
	FunctionalAddresses []uint16
	VIN                 VIN
	EID                 EID
	GID                 GID
	FurtherAction       FurtherAction
	NodeType            NodeType
	// Version is the protocol version of the messages sent: Version2010,
	// Version2012 or Version2019; zero means Version2012. Requests of
	// any of these three versions are accepted (and answered in Version),
	// VersionDefault in vehicle identification requests too; other
	// versions get HeaderNACKIncorrectPattern (see Server).
	Version byte

	// SourceAddresses are the tester addresses allowed to activate
	// routing; empty allows any.
	SourceAddresses []uint16
	// ActivationTypes are the routing activation types accepted; empty
	// means ActivationDefault and ActivationWWHOBD.
	ActivationTypes []ActivationType
	// Activate, when set, is asked last whether to activate routing for a
	// request that passed the other checks; it returns RoutingSuccess or
	// the code of the denial (e.g. RoutingMissingAuthentication).
	Activate func(req RoutingActivationRequest) RoutingActivationCode

	// Handler answers diagnostic messages; nil refuses them with
	// DiagNACKTargetUnreachable.
	Handler Handler
	// PowerMode reports the diagnostic power mode; nil means
	// PowerModeReady.
	PowerMode func() PowerMode

	// MaxPayload is the largest payload accepted; zero means
	// DefaultMaxPayload. It is reported as the entity's max data size.
	MaxPayload uint32
	// MaxSockets is the number of TCP connections with routing activated
	// at once; zero means 4.
	MaxSockets uint8
	// InitialInactivity closes a connection without routing activation
	// (T_TCP_Initial_Inactivity); zero means 2 s, negative never.
	InitialInactivity time.Duration
	// GeneralInactivity closes a connection with no message
	// (T_TCP_General_Inactivity); zero means 5 min, negative never.
	GeneralInactivity time.Duration
	// AliveCheckTimeout bounds the wait for an alive check response
	// (T_TCP_Alive_Check); zero means 500 ms.
	AliveCheckTimeout time.Duration

	// Logger receives connection events at debug level; nil discards them.
	Logger *slog.Logger
}

// Server is a DoIP entity for simulated ECUs: it listens on TCP for testers
// and on UDP for vehicle identification, entity status and power mode
// requests. On TCP it checks every header (see Reader), handles routing
// activation as ISO 13400-2 describes (including the alive checks that
// decide whether a source address or socket is still in use), and passes
// diagnostic messages from activated testers to the Handler after sending
// their ACK; the Handler's response goes back as a diagnostic message. A
// diagnostic message before routing activation, or from another source
// address, is refused with DiagNACKInvalidSourceAddress and the connection
// closed.
//
// The entity supports protocol versions Version2010, Version2012 and
// Version2019, and VersionDefault in vehicle identification requests; it
// sends its messages in ServerConfig.Version. ISO 13400-2 counts any other
// version (0x00, 0x04–0xFE, or 0xFF in another request) as a failed
// synchronization pattern: the header gets HeaderNACKIncorrectPattern, and
// the TCP connection is closed, the UDP datagram discarded. Messages of
// other entities (generic NACKs, vehicle announcements) are never answered,
// whatever their version.
//
// Not implemented: vehicle announcements at start-up, the random delay
// before answering identification requests, and TLS.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	tcp      net.Listener
	udp      *net.UDPConn
	targets  map[uint16]bool
	funcs    map[uint16]bool // functional addresses among targets
	sources  map[uint16]bool // nil: any
	actTypes map[ActivationType]bool
	ctx      context.Context // ends at shutdown; parent of the connections'
	cancel   context.CancelFunc

	activateMu sync.Mutex // one routing activation at a time

	mu      sync.Mutex
	conns   map[*serverConn]struct{}
	running bool
	closed  bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

// Listen binds the TCP and UDP addresses of cfg and returns a Server that
// serves them once Run is called.
func Listen(cfg ServerConfig) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = ":13400"
	}
	if cfg.UDPAddr == "" {
		cfg.UDPAddr = cfg.Addr
	}
	if cfg.LogicalAddress == 0 {
		cfg.LogicalAddress = DefaultEntityAddress
	}
	if cfg.Version == 0 {
		cfg.Version = Version2012
	}
	if !entityVersion(cfg.Version) {
		return nil, fmt.Errorf("doip: listen: protocol version 0x%02X: want 0x01, 0x02 or 0x03", cfg.Version)
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.MaxSockets == 0 {
		cfg.MaxSockets = 4
	}
	cfg.InitialInactivity = orDefault(cfg.InitialInactivity, defaultInitialInactivity)
	cfg.GeneralInactivity = orDefault(cfg.GeneralInactivity, defaultGeneralInactivity)
	cfg.AliveCheckTimeout = orDefault(cfg.AliveCheckTimeout, defaultAliveCheckTimeout)
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		targets:  make(map[uint16]bool),
		funcs:    make(map[uint16]bool),
		actTypes: make(map[ActivationType]bool),
		conns:    make(map[*serverConn]struct{}),
		quit:     make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.TargetAddresses) == 0 {
		cfg.TargetAddresses = []uint16{cfg.LogicalAddress}
	}
	for _, ta := range cfg.TargetAddresses {
		s.targets[ta] = true
	}
	for _, ta := range cfg.FunctionalAddresses {
		s.targets[ta], s.funcs[ta] = true, true
	}
	if len(cfg.SourceAddresses) > 0 {
		s.sources = make(map[uint16]bool)
		for _, sa := range cfg.SourceAddresses {
			s.sources[sa] = true
		}
	}
	if len(cfg.ActivationTypes) == 0 {
		cfg.ActivationTypes = []ActivationType{ActivationDefault, ActivationWWHOBD}
	}
	for _, t := range cfg.ActivationTypes {
		s.actTypes[t] = true
	}

	var err error
	if s.tcp, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("doip: %w", err)
	}
	uaddr, err := net.ResolveUDPAddr("udp", cfg.UDPAddr)
	if err == nil {
		s.udp, err = net.ListenUDP("udp", uaddr)
	}
	if err != nil {
		s.tcp.Close()
		return nil, fmt.Errorf("doip: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Addr returns the TCP address the server listens on.
func (s *Server) Addr() net.Addr { return s.tcp.Addr() }

// UDPAddr returns the UDP address the server listens on.
func (s *Server) UDPAddr() net.Addr { return s.udp.LocalAddr() }

// Run serves until ctx ends or Close is called, then closes the listeners
// and every connection and returns after all of the server's goroutines
// (Handler calls included) have exited. It returns nil then, or the error
// that stopped a listener. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.running:
		s.mu.Unlock()
		return errors.New("doip: server already running")
	}
	s.running = true
	s.wg.Add(2)
	s.mu.Unlock()

	errc := make(chan error, 2)
	go func() {
		defer s.wg.Done()
		errc <- s.acceptLoop()
	}()
	go func() {
		defer s.wg.Done()
		errc <- s.udpLoop()
	}()
	var err error
	select {
	case <-ctx.Done():
	case <-s.quit:
	case err = <-errc:
	}
	s.shutdown()
	return err
}

// Close stops the server like the end of Run's context and waits for its
// goroutines. It is idempotent, and needed only for a server whose Run was
// never called.
func (s *Server) Close() error {
	s.shutdown()
	return nil
}

// ResetConnections closes every TCP connection, as an ECU reset would; the
// server goes on listening.
func (s *Server) ResetConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		sc.conn.Close()
	}
}

func (s *Server) shutdown() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
	for sc := range s.conns {
		sc.conn.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.tcp.Close()
	s.udp.Close()
	s.wg.Wait()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) acceptLoop() error {
	for {
		nc, err := s.tcp.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			return fmt.Errorf("doip: accept: %w", err)
		}
		s.mu.Lock()
		if s.closed || len(s.conns) > int(s.cfg.MaxSockets) {
			// Besides the registered sockets ISO 13400-2 asks for one
			// more, on which a tester may activate routing.
			s.mu.Unlock()
			nc.Close()
			continue
		}
		sc := newServerConn(s, nc)
		s.conns[sc] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		s.log.Debug("doip: connection opened", "remote", nc.RemoteAddr())
		go sc.serve()
		go sc.work()
	}
}

// openSockets returns the number of TCP connections.
func (s *Server) openSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// activate decides a routing activation request from sc.
func (s *Server) activate(sc *serverConn, req RoutingActivationRequest) RoutingActivationCode {
	s.activateMu.Lock()
	defer s.activateMu.Unlock()
	if s.sources != nil && !s.sources[req.SourceAddress] {
		return RoutingUnknownSourceAddress
	}
	if !s.actTypes[req.ActivationType] {
		return RoutingUnsupportedActivationType
	}
	var same *serverConn
	var others []*serverConn
	s.mu.Lock()
	if sc.active {
		defer s.mu.Unlock()
		if sc.sa != req.SourceAddress {
			return RoutingDifferentSourceAddress
		}
		return RoutingSuccess
	}
	for o := range s.conns {
		if o != sc && o.active {
			if o.sa == req.SourceAddress {
				same = o
			} else {
				others = append(others, o)
			}
		}
	}
	s.mu.Unlock()

	if same != nil {
		if same.aliveCheck() {
			return RoutingSourceAddressActive
		}
		same.drop("source address reused")
	}
	if len(others) >= int(s.cfg.MaxSockets) {
		alive := make([]bool, len(others))
		var wg sync.WaitGroup
		for i, o := range others {
			wg.Go(func() { alive[i] = o.aliveCheck() })
		}
		wg.Wait()
		if !slices.Contains(alive, false) {
			return RoutingAllSocketsRegistered
		}
		for i, o := range others {
			if !alive[i] {
				o.drop("alive check failed")
			}
		}
	}
	if s.cfg.Activate != nil {
		if code := s.cfg.Activate(req); code != RoutingSuccess {
			return code
		}
	}
	s.mu.Lock()
	sc.active, sc.sa = true, req.SourceAddress
	s.mu.Unlock()
	return RoutingSuccess
}

// udpSupported lists the payload types an entity serves on UDP.
func udpSupported(t PayloadType) bool {
	switch t {
	case TypeVehicleIdentificationRequest, TypeVehicleIdentificationRequestEID,
		TypeVehicleIdentificationRequestVIN, TypeEntityStatusRequest, TypePowerModeRequest:
		return true
	}
	return false
}

const udpBufLen = 1500

func (s *Server) udpLoop() error {
	buf := make([]byte, udpBufLen)
	for {
		n, from, err := s.udp.ReadFromUDP(buf)
		if err != nil {
			if s.isClosed() {
				return nil
			}
			return fmt.Errorf("doip: read udp: %w", err)
		}
		resp, refused := s.answerDatagram(buf[:n])
		if refused != nil {
			s.log.Debug("doip: refused datagram", "remote", from, "err", refused)
			resp = GenericNACK{Code: refused.Code} // and the datagram is discarded
		}
		if resp != nil {
			b, err := MarshalMessage(s.cfg.Version, resp)
			if err == nil {
				_, err = s.udp.WriteToUDP(b, from)
			}
			if err != nil {
				s.log.Debug("doip: udp answer", "remote", from, "err", err)
			}
		}
	}
}

// answerDatagram returns the answer to one UDP datagram, or nil, or the
// HeaderError of a datagram to refuse with a generic NACK.
func (s *Server) answerDatagram(b []byte) (Message, *HeaderError) {
	var h Header
	if err := h.UnmarshalBinary(b); err != nil {
		if herr, ok := errors.AsType[*HeaderError](err); ok {
			return nil, herr
		}
		return nil, nil // too short to be meant as DoIP
	}
	if h.Type == TypeGenericNACK || h.Type == TypeVehicleAnnouncement {
		return nil, nil // never answer other entities' messages (of any version), lest two entities NACK each other forever
	}
	if !udpVersion(h.Version, h.Type) {
		return nil, unsupportedVersion(h)
	}
	if herr := checkHeader(h, udpSupported, min(s.cfg.MaxPayload, udpBufLen-HeaderLen)); herr != nil {
		return nil, herr
	}
	if uint64(len(b)-HeaderLen) != uint64(h.Length) {
		return nil, &HeaderError{Header: h, Code: HeaderNACKInvalidPayloadLength}
	}
	m, err := decodePayload(h.Type, b[HeaderLen:])
	if err != nil {
		return nil, nil
	}
	switch m := m.(type) {
	case VehicleIdentificationRequest:
		return s.announcement(), nil
	case VehicleIdentificationRequestEID:
		if m.EID == s.cfg.EID {
			return s.announcement(), nil
		}
	case VehicleIdentificationRequestVIN:
		if m.VIN == s.cfg.VIN {
			return s.announcement(), nil
		}
	case EntityStatusRequest:
		return EntityStatusResponse{
			NodeType:       s.cfg.NodeType,
			MaxSockets:     s.cfg.MaxSockets,
			OpenSockets:    uint8(min(s.openSockets(), 255)),
			MaxDataSize:    s.cfg.MaxPayload,
			HasMaxDataSize: true,
		}, nil
	case PowerModeRequest:
		mode := PowerModeReady
		if s.cfg.PowerMode != nil {
			mode = s.cfg.PowerMode()
		}
		return PowerModeResponse{Mode: mode}, nil
	}
	return nil, nil
}

func (s *Server) announcement() VehicleAnnouncement {
	return VehicleAnnouncement{
		VIN:            s.cfg.VIN,
		LogicalAddress: s.cfg.LogicalAddress,
		EID:            s.cfg.EID,
		GID:            s.cfg.GID,
		FurtherAction:  s.cfg.FurtherAction,
	}
}
