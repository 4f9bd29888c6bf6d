package doip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// UDPConfig configures the UDP requests: EntityStatus, DiagnosticPowerMode
// and, within DiscoverConfig, Discover. The zero value is valid.
type UDPConfig struct {
	// Version is the protocol version of the request; zero means
	// VersionDefault (0xFF) for vehicle identification requests and
	// Version2012 for the others.
	Version byte
	// Timeout bounds the wait for answers (A_DoIP_Ctrl); zero means 2 s.
	// The context's deadline applies too.
	Timeout time.Duration
}

// DiscoverConfig configures Discover and DiscoverAll. The zero value sends
// a plain vehicle identification request (0x0001).
type DiscoverConfig struct {
	UDPConfig
	// EID, when set, asks only the entity with this EID (0x0002).
	EID *EID
	// VIN, when set and EID is not, asks only the entities of the vehicle
	// with this VIN (0x0003).
	VIN *VIN
}

// Vehicle is an answer to a vehicle identification request and where it
// came from.
type Vehicle struct {
	Addr *net.UDPAddr
	VehicleAnnouncement
}

// Discover sends a vehicle identification request over UDP to addr
// ("host:port", or "host" for port 13400; unicast or broadcast) and returns
// the first answer. It fails with ErrTimeout when none comes within the
// timeout, and with an error wrapping the HeaderNACKCode when the entity
// answers with a generic NACK.
func Discover(ctx context.Context, addr string, cfg DiscoverConfig) (Vehicle, error) {
	var v Vehicle
	err := udpRequest(ctx, addr, cfg.UDPConfig, cfg.request(), func(from *net.UDPAddr, m Message) bool {
		va, ok := m.(VehicleAnnouncement)
		if ok {
			v = Vehicle{Addr: from, VehicleAnnouncement: va}
		}
		return ok
	})
	if err != nil {
		return Vehicle{}, fmt.Errorf("doip: discover %s: %w", addr, err)
	}
	return v, nil
}

// DiscoverAll sends a vehicle identification request like Discover and
// collects every answer that arrives until the timeout, for broadcast
// addresses. No answer at all is not an error.
func DiscoverAll(ctx context.Context, addr string, cfg DiscoverConfig) ([]Vehicle, error) {
	var vs []Vehicle
	err := udpRequest(ctx, addr, cfg.UDPConfig, cfg.request(), func(from *net.UDPAddr, m Message) bool {
		if va, ok := m.(VehicleAnnouncement); ok {
			vs = append(vs, Vehicle{Addr: from, VehicleAnnouncement: va})
		}
		return false
	})
	if err != nil && !errors.Is(err, ErrTimeout) {
		return vs, fmt.Errorf("doip: discover %s: %w", addr, err)
	}
	return vs, nil
}

func (cfg DiscoverConfig) request() Message {
	switch {
	case cfg.EID != nil:
		return VehicleIdentificationRequestEID{EID: *cfg.EID}
	case cfg.VIN != nil:
		return VehicleIdentificationRequestVIN{VIN: *cfg.VIN}
	}
	return VehicleIdentificationRequest{}
}

// EntityStatus asks the entity at addr for its status over UDP.
func EntityStatus(ctx context.Context, addr string, cfg UDPConfig) (EntityStatusResponse, error) {
	var resp EntityStatusResponse
	err := udpRequest(ctx, addr, cfg, EntityStatusRequest{}, func(_ *net.UDPAddr, m Message) bool {
		r, ok := m.(EntityStatusResponse)
		resp = r
		return ok
	})
	if err != nil {
		return resp, fmt.Errorf("doip: entity status %s: %w", addr, err)
	}
	return resp, nil
}

// DiagnosticPowerMode asks the entity at addr for the diagnostic power mode
// over UDP.
func DiagnosticPowerMode(ctx context.Context, addr string, cfg UDPConfig) (PowerMode, error) {
	var mode PowerMode
	err := udpRequest(ctx, addr, cfg, PowerModeRequest{}, func(_ *net.UDPAddr, m Message) bool {
		r, ok := m.(PowerModeResponse)
		mode = r.Mode
		return ok
	})
	if err != nil {
		return 0, fmt.Errorf("doip: power mode %s: %w", addr, err)
	}
	return mode, nil
}

// udpRequest sends req to addr from an ephemeral port and passes each
// message that comes back to answer until answer returns true. Datagrams
// that are not valid DoIP are ignored; a generic NACK ends the wait with
// its code.
func udpRequest(ctx context.Context, addr string, cfg UDPConfig, req Message, answer func(*net.UDPAddr, Message) bool) error {
	raddr, err := net.ResolveUDPAddr("udp", withPort(addr))
	if err != nil {
		return err
	}
	network := "udp6"
	if raddr.IP == nil || raddr.IP.To4() != nil {
		network = "udp4"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return err
	}
	defer conn.Close()

	version := cfg.Version
	if version == 0 {
		version = Version2012
		switch req.PayloadType() {
		case TypeVehicleIdentificationRequest, TypeVehicleIdentificationRequestEID, TypeVehicleIdentificationRequestVIN:
			version = VersionDefault
		}
	}
	b, err := MarshalMessage(version, req)
	if err != nil {
		return err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultCtrlTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	defer interruptOnDone(ctx, conn.SetDeadline)()

	if _, err := conn.WriteToUDP(b, raddr); err != nil {
		return ctxErr(ctx, err)
	}
	buf := make([]byte, 1024)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
				return ErrTimeout
			}
			return err
		}
		_, m, err := DecodeMessage(buf[:n])
		if err != nil {
			continue
		}
		if nack, ok := m.(GenericNACK); ok {
			return nack.Code
		}
		if answer(from, m) {
			return nil
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
