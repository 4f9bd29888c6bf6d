// Package doip implements Diagnostics over Internet Protocol (ISO 13400-2):
// the messages, a stream reader that enforces the standard's header checks,
// a tester-side Client whose DiagConn carries UDS messages, and a Server
// that plays a DoIP entity for simulated ECUs.
//
// # Messages
//
// Every message starts with the 8-byte generic Header: protocol version
// (Version2012, Version2019, or VersionDefault in vehicle identification
// requests), its inverse, the PayloadType and the payload length. Each
// payload type is a small value type implementing Message, with
// MarshalBinary/AppendBinary for the payload and UnmarshalBinary on its
// pointer:
//
//	GenericNACK                      0x0000
//	VehicleIdentificationRequest     0x0001 (…EID 0x0002, …VIN 0x0003)
//	VehicleAnnouncement              0x0004
//	RoutingActivationRequest         0x0005
//	RoutingActivationResponse        0x0006
//	AliveCheckRequest                0x0007
//	AliveCheckResponse               0x0008
//	EntityStatusRequest/Response     0x4001/0x4002
//	PowerModeRequest/Response        0x4003/0x4004
//	DiagnosticMessage                0x8001
//	DiagnosticACK                    0x8002
//	DiagnosticNACK                   0x8003
//
// Optional trailing fields have a Has… flag, and reserved bytes are kept,
// so decoding and encoding a message gives back the same bytes.
// MarshalMessage and AppendMessage add the header; DecodeMessage decodes
// one whole message, such as a UDP datagram.
//
// The codes of generic NACKs (HeaderNACKCode), diagnostic NACKs
// (DiagNACKCode) and routing activation responses (RoutingActivationCode)
// implement error, like syscall.Errno, so callers match them with
// errors.Is(err, doip.DiagNACKUnknownTargetAddress) or errors.As.
//
// # Client
//
// Dial opens the TCP connection to an entity (port 13400 unless the
// address says otherwise) and activates routing for the tester's source
// address (0x0E00 by default); a denial is returned as its
// RoutingActivationCode. Client.DiagConn returns the diagnostic connection
// to one target address, which implements uds.Transport: Send waits for the
// entity's diagnostic message ACK and returns a NACK as an error; Recv
// returns the next response from the target. The client answers the
// entity's alive checks in the background. When the connection is lost, a
// later Send dials again and activates routing before sending.
//
// Client.FunctionalConn is the DiagConn of a functional address such as
// 0xE400: each entity answers a functional request from its own logical
// address (ISO 13400-2), so its Recv returns the responses from every
// source until another DiagConn of the Client sends.
//
// Discover and DiscoverAll find entities with a vehicle identification
// request over UDP (unicast or broadcast); EntityStatus and
// DiagnosticPowerMode ask an entity for its status and power mode.
//
// # Server
//
// Listen binds a Server's TCP and UDP addresses; Run serves until its
// context ends and then closes everything and waits for its goroutines.
// The Server answers vehicle identification, entity status and power mode
// requests over UDP, applies the routing activation rules (known source
// addresses, activation types, one source address per socket, a limited
// number of sockets, alive checks to find stale registrations), and hands
// each diagnostic message for one of its target addresses to a Handler
// after acknowledging it; the Handler's response goes back as a diagnostic
// message, from the target address, or for ServerConfig.FunctionalAddresses
// from the entity's LogicalAddress.
//
// # Limits
//
// Input from the network is bounded. Reader checks each header in the
// order ISO 13400-2 gives before it reads the payload, and reports a
// *HeaderError whose Code is the generic NACK to send:
//
//   - inverse version wrong, or a protocol version that Reader.Versions
//     refuses: HeaderNACKIncorrectPattern, close the socket
//   - payload type unknown or not served: HeaderNACKUnknownPayloadType,
//     the payload is discarded and the connection goes on
//   - payload longer than MaxPayload (64 KiB by default):
//     HeaderNACKMessageTooLarge, discarded, the connection goes on
//   - length not valid for the type: HeaderNACKInvalidPayloadLength,
//     close the socket
//
// Discarded payloads are skipped in small chunks, never buffered, and a
// stream that ends inside a message gives ErrTruncated. Client and Server
// send these NACKs and close when HeaderNACKCode.ClosesSocket says so. The
// Client accepts every protocol version; the Server only those it supports
// (Version2010, Version2012, Version2019), and VersionDefault only in
// vehicle identification requests over UDP, where the same checks answer
// a datagram with a NACK and discard it (see Server). The Server also
// closes connections that stay idle (2 s before routing activation, 5 min
// after) and refuses diagnostic messages beyond a queue of 16 per
// connection with DiagNACKOutOfMemory.
package doip
