package uds_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bgkit/bgkit/uds"
)

// Encode a request and decode the responses a server may send to it.
func Example() {
	req, err := uds.DiagnosticSessionControlRequest{Session: uds.ExtendedDiagnosticSession}.MarshalBinary()
	if err != nil {
		panic(err)
	}
	fmt.Printf("request:  % X\n", req)

	m, err := uds.DecodeResponse([]byte{0x50, 0x03, 0x00, 0x32, 0x01, 0xF4})
	if err != nil {
		panic(err)
	}
	resp := m.(*uds.DiagnosticSessionControlResponse)
	fmt.Printf("response: %s, P2 %v, P2* %v\n", resp.Session, resp.P2, resp.P2Star)

	_, err = uds.DecodeResponse([]byte{0x7F, 0x10, 0x22})
	var nr *uds.NegativeResponseError
	if errors.As(err, &nr) {
		fmt.Printf("refused:  %s: %s\n", nr.SID, nr.NRC)
	}
	// Output:
	// request:  10 03
	// response: extendedDiagnosticSession, P2 50ms, P2* 5s
	// refused:  DiagnosticSessionControl: conditionsNotCorrect
}

// A client and a simulated ECU talk over an in-memory transport (newPipe,
// defined in this package's tests); isotp.Conn or doip connections take
// its place on a rig.
func ExampleClient() {
	clientEnd, ecuEnd := newPipe()

	ecu := uds.NewServer()
	ecu.Handle(uds.SIDReadDataByIdentifier, func(_ context.Context, b []byte) ([]byte, error) {
		var req uds.ReadDataByIdentifierRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err // answered with incorrectMessageLengthOrInvalidFormat
		}
		if len(req.DIDs) != 1 || req.DIDs[0] != 0xF190 {
			return nil, uds.NRCRequestOutOfRange
		}
		return uds.ReadDataByIdentifierResponse{Records: []uds.DataRecord{{DID: 0xF190, Data: []byte("WVWZZZ1JZ3W386752")}}}.MarshalBinary()
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = ecu.Serve(ctx, ecuEnd) })
	defer func() { cancel(); wg.Wait() }()

	c := uds.NewClient(clientEnd, uds.WithP2(time.Second))
	vin, err := c.ReadDataByIdentifier(ctx, 0xF190)
	fmt.Printf("VIN %s, %v\n", vin, err)

	_, err = c.ReadDataByIdentifier(ctx, 0x1234)
	fmt.Println(err)
	fmt.Println(errors.Is(err, uds.NRCRequestOutOfRange))

	fmt.Println(c.TesterPresent(ctx, false))
	// Output:
	// VIN WVWZZZ1JZ3W386752, <nil>
	// uds: ReadDataByIdentifier: negative response requestOutOfRange (0x31)
	// true
	// <nil>
}

// A handler that needs more than P2 sends response pending messages; the
// client then waits up to P2* for the final response.
func ExampleResponsePending() {
	clientEnd, ecuEnd := newPipe()
	ecu := uds.NewServer()
	ecu.HandleSubFunction(uds.SIDRoutineControl, byte(uds.StartRoutine), func(ctx context.Context, b []byte) ([]byte, error) {
		var req uds.RoutineControlRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		if err := uds.ResponsePending(ctx); err != nil {
			return nil, err
		}
		time.Sleep(300 * time.Millisecond) // the routine runs longer than P2
		return uds.RoutineControlResponse{Type: req.Type, RoutineID: req.RoutineID, Status: []byte{0x00}}.MarshalBinary()
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = ecu.Serve(ctx, ecuEnd) })
	defer func() { cancel(); wg.Wait() }()

	c := uds.NewClient(clientEnd, uds.WithP2(200*time.Millisecond))
	resp, err := c.RoutineControl(ctx, uds.RoutineControlRequest{Type: uds.StartRoutine, RoutineID: 0xFF00})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s 0x%04X status % X\n", resp.Type, resp.RoutineID, resp.Status)
	// Output:
	// startRoutine 0xFF00 status 00
}
