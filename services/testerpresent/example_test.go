package testerpresent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/testerpresent"
)

// Example serves the service in-process, starts it through its
// controller and watches its request on the virtual bus. In a rig it runs
// as a child process: spawn.RunKind(ctx, b, testerpresent.Kind, args).
func Example() {
	ctx := context.Background()
	b, err := bus.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// Another node on the bus, to see the frames.
	node, err := can.Open(ctx, "virtual:bus0", can.WithNATS(b.Conn()))
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	svc, err := testerpresent.New(testerpresent.Args{Bus: "virtual:bus0", IntervalMS: 100})
	if err != nil {
		log.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(runCtx, b, svc, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready

	tp, err := testerpresent.Connect(ctx, b, "") // TESTER_PRESENT_SERVICE
	if err != nil {
		log.Fatal(err)
	}
	if err := tp.Start(ctx); err != nil {
		log.Fatal(err)
	}
	r, err := node.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Frame)
	if err := tp.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	st, err := tp.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("running:", st.Running, "errors:", st.Errors)

	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// 7DF#023E80CCCCCCCCCC
	// running: false errors: 0
}

// ExampleArgs shows the JSON form of the arguments, as in a rig file or
// bgkit run --args: options that default to true are turned off with an
// explicit false.
func ExampleArgs() {
	var a testerpresent.Args
	err := json.Unmarshal([]byte(`{
		"bus": "virtual:bus0",
		"tx_id": "0x7E0", "rx_id": 2024,
		"interval_ms": 500,
		"suppress_response": false
	}`), &a)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := testerpresent.New(a); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("tx %v, rx %v, every %d ms, suppress %v\n", a.TxID, a.RxID, a.IntervalMS, *a.SuppressResponse)
	// Output:
	// tx 0x7E0, rx 0x7E8, every 500 ms, suppress false
}
