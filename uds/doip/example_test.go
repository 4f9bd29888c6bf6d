package doip_test

import (
	"context"
	"fmt"
	"log"

	"github.com/bgkit/bgkit/uds/doip"
)

func ExampleMarshalMessage() {
	b, err := doip.MarshalMessage(doip.Version2012, doip.RoutingActivationRequest{
		SourceAddress:  0x0E00,
		ActivationType: doip.ActivationDefault,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% X\n", b)
	// Output: 02 FD 00 05 00 00 00 07 0E 00 00 00 00 00 00
}

func ExampleDecodeMessage() {
	b := []byte{0x02, 0xFD, 0x80, 0x01, 0x00, 0x00, 0x00, 0x06, 0x0E, 0x00, 0xE4, 0x00, 0x3E, 0x80}
	h, m, err := doip.DecodeMessage(b)
	if err != nil {
		log.Fatal(err)
	}
	dm := m.(doip.DiagnosticMessage)
	fmt.Printf("%v: 0x%04X -> 0x%04X % X\n", h.Type, dm.SourceAddress, dm.TargetAddress, dm.Data)
	// Output: diagnostic message: 0x0E00 -> 0xE400 3E 80
}

// A simulated ECU and a tester on 127.0.0.1: discovery over UDP, routing
// activation, and a TesterPresent exchange.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	vin, _ := doip.ParseVIN("WVWZZZ1JZXW000001")
	srv, err := doip.Listen(doip.ServerConfig{
		Addr:           "127.0.0.1:0",
		LogicalAddress: 0x1001,
		VIN:            vin,
		Handler: func(_ context.Context, sa, ta uint16, req []byte) ([]byte, bool) {
			if len(req) == 2 && req[0] == 0x3E && req[1] == 0x00 {
				return []byte{0x7E, 0x00}, true // TesterPresent
			}
			return []byte{0x7F, req[0], 0x11}, true // serviceNotSupported
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	v, err := doip.Discover(ctx, srv.UDPAddr().String(), doip.DiscoverConfig{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("found %v at 0x%04X\n", v.VIN, v.LogicalAddress)

	c, err := doip.Dial(ctx, srv.Addr().String(), doip.ClientConfig{SourceAddress: 0x0E00})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ecu := c.DiagConn(v.LogicalAddress) // a uds.Transport
	if err := ecu.Send(ctx, []byte{0x3E, 0x00}); err != nil {
		log.Fatal(err)
	}
	resp, err := ecu.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("response % X\n", resp)

	err = c.DiagConn(0x2000).Send(ctx, []byte{0x3E, 0x00})
	fmt.Println(err)
	// Output:
	// found WVWZZZ1JZXW000001 at 0x1001
	// response 7E 00
	// doip: send to 0x2000: diagnostic message NACK: unknown target address
}
