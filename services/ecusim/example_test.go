package ecusim_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/ecusim"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/isotp"
)

// A test talks UDS to the simulated ECU over ISO-TP on a virtual CAN bus,
// and asks the service for its state. A rig spawns it instead:
// spawn.RunKind(ctx, b, ecusim.Kind, args).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	// The ECU simulator, served in-process.
	svc, err := ecusim.New(ecusim.Args{Bus: "virtual:bus0", DIDs: map[hexid.ID]string{0xF18C: "0001E240"}})
	if err != nil {
		panic(err)
	}
	ready, done := make(chan struct{}), make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() { done <- service.Run(sctx, b, svc, service.WithOnReady(func(service.Info) { close(ready) })) }()
	defer func() { stop(); <-done }()
	<-ready

	// The tester.
	cb, err := can.Open(ctx, "virtual:bus0", can.WithNATS(b.Conn()))
	if err != nil {
		panic(err)
	}
	defer cb.Close()
	conn, err := isotp.New(cb, isotp.Config{TxID: 0x7E0, RxID: 0x7E8})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	c := uds.NewClient(conn, uds.WithP2(5*time.Second))

	resp, err := c.Do(ctx, []byte{0x10, 0x03})
	fmt.Printf("10 03 → % X %v\n", resp, err)
	vin, err := c.ReadDataByIdentifier(ctx, 0xF190)
	fmt.Printf("VIN %s %v\n", vin, err)
	_, err = c.Do(ctx, []byte{0x2E, 0xF1, 0x8C, 0x01})
	fmt.Println(err)

	ecu, err := ecusim.Connect(ctx, b, "")
	if err != nil {
		panic(err)
	}
	defer ecu.Close()
	s, err := ecu.Session(ctx)
	fmt.Println(s.Session, s.Name, s.S3Expiries, err)
	// Output:
	// 10 03 → 50 03 00 32 01 F4 <nil>
	// VIN BGKECUSM000000001 <nil>
	// uds: WriteDataByIdentifier: negative response incorrectMessageLengthOrInvalidFormat (0x13)
	// 3 extendedDiagnosticSession 0 <nil>
}
