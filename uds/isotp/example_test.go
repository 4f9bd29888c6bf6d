package isotp_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/isotp"
)

// A Conn is a UDS transport.
var _ uds.Transport = (*isotp.Conn)(nil)

// Two Conns on an in-process hub: a tester reads the VIN from an ECU, whose
// 20-byte answer travels as a first frame and two consecutive frames.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	hub := can.NewHub()
	testerBus, ecuBus := hub.Attach(), hub.Attach()
	defer testerBus.Close()
	defer ecuBus.Close()

	tester, err := isotp.New(testerBus, isotp.Config{TxID: 0x7E0, RxID: 0x7E8})
	if err != nil {
		log.Fatal(err)
	}
	defer tester.Close()
	ecu, err := isotp.New(ecuBus, isotp.Config{TxID: 0x7E8, RxID: 0x7E0})
	if err != nil {
		log.Fatal(err)
	}
	defer ecu.Close()

	served := make(chan struct{})
	go func() {
		defer close(served)
		req, err := ecu.Recv(ctx)
		if err != nil {
			log.Print(err)
			return
		}
		if req[0] == 0x22 { // ReadDataByIdentifier
			resp := append([]byte{0x62, req[1], req[2]}, "WDB1234567890ABCD"...)
			if err := ecu.Send(ctx, resp); err != nil {
				log.Print(err)
			}
		}
	}()

	if err := tester.Send(ctx, []byte{0x22, 0xF1, 0x90}); err != nil {
		log.Fatal(err)
	}
	resp, err := tester.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	<-served
	fmt.Printf("% X\n%s\n", resp[:3], resp[3:])
	// Output:
	// 62 F1 90
	// WDB1234567890ABCD
}

func ExampleDecodePDU() {
	for _, b := range [][]byte{
		{0x02, 0x3E, 0x80, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC},
		{0x10, 0x14, 0x62, 0xF1, 0x90, 0x57, 0x44, 0x42},
		{0x21, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37},
		{0x30, 0x08, 0xF5},
		{0x22, 0x38},
	} {
		p, err := isotp.DecodePDU(b)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(p)
	}
	_, err := isotp.DecodePDU([]byte{0x35, 0x00, 0x00})
	fmt.Println(err)
	// Output:
	// SF 3e80
	// FF len=20 62f190574442
	// CF sn=1 31323334353637
	// FC CTS bs=8 stmin=500µs
	// CF sn=2 38
	// isotp decode: invalid flow status: 5
}

func ExamplePDU_MarshalBinary() {
	p := isotp.PDU{Type: isotp.FirstFrame, Length: 100_000, Data: []byte{0x36, 0x01}}
	b, err := p.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% X\n", b)
	// Output:
	// 10 00 00 01 86 A0 36 01
}

func ExampleSTminFromDuration() {
	for _, d := range []time.Duration{0, 250 * time.Microsecond, time.Millisecond, 20 * time.Millisecond} {
		s := isotp.STminFromDuration(d)
		fmt.Printf("%v -> %#02x (%v)\n", d, uint8(s), s.Duration())
	}
	// Output:
	// 0s -> 0x00 (0s)
	// 250µs -> 0xf3 (300µs)
	// 1ms -> 0x01 (1ms)
	// 20ms -> 0x14 (20ms)
}

// Functional addressing: a tester sends Tester Present to all ECUs.
func ExampleConn_SendFunctional() {
	ctx := context.Background()
	hub := can.NewHub()
	tb, eb := hub.Attach(), hub.Attach()
	defer tb.Close()
	defer eb.Close()
	tester, err := isotp.New(tb, isotp.Config{TxID: 0x7E0, RxID: 0x7E8, FunctionalID: 0x7DF})
	if err != nil {
		log.Fatal(err)
	}
	defer tester.Close()
	ecu, err := isotp.New(eb, isotp.Config{TxID: 0x7E8, RxID: 0x7E0, FunctionalID: 0x7DF, AcceptFunctional: true})
	if err != nil {
		log.Fatal(err)
	}
	defer ecu.Close()

	if err := tester.SendFunctional(ctx, []byte{0x3E, 0x80}); err != nil {
		log.Fatal(err)
	}
	req, err := ecu.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% X\n", req)
	// Output:
	// 3E 80
}
