package uds

import "context"

// Transport carries whole UDS messages (service id first) to and from one
// ECU. isotp.Conn and doip.DiagConn implement it. Implementations are safe
// for one sender and one receiver at a time; Client serialises its use.
//
// An error that loses one message and leaves the transport working (a
// reception that failed part-way, a message the peer refused) has a method
// MessageLost() bool that returns true; Server.Serve goes on after it.
type Transport interface {
	// Send transmits one request.
	Send(ctx context.Context, msg []byte) error
	// Recv waits for the next message from the ECU.
	Recv(ctx context.Context) ([]byte, error)
}
