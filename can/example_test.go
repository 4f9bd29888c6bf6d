package can_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/can"
)

func ExampleParseFrame() {
	f, err := can.ParseFrame("7e0#02.3e.80")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("id %#x, %d bytes: % X\n", f.ID, f.Len, f.Payload())
	fmt.Println(f)

	fd, _ := can.ParseFrame("18DAF110##1DEADBEEF")
	fmt.Println(fd.Extended, fd.FD, fd.BRS, fd)

	_, err = can.ParseFrame("123#ABC")
	fmt.Println(err)
	// Output:
	// id 0x7e0, 3 bytes: 02 3E 80
	// 7E0#023E80
	// true true true 18DAF110##1DEADBEEF
	// can: parse "123#ABC": offset 7: odd number of hex digits in data
}

func ExampleFrame_String() {
	var f can.Frame
	f.ID = 0x123
	f.SetPayload([]byte{0xDE, 0xAD, 0xBE, 0xEF})
	fmt.Println(f)

	r := can.Frame{ID: 0x1ABCDEF0, Extended: true, Remote: true, Len: 3}
	fmt.Println(r)
	// Output:
	// 123#DEADBEEF
	// 1ABCDEF0#R3
}

func ExampleParseLogLine() {
	e, err := can.ParseLogLine("(1436509052.249713) can0 123#DEADBEEF R")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Time.UTC().Format(time.RFC3339Nano), e.Interface, e.Frame, string(e.Dir))
	fmt.Println(e)
	// Output:
	// 2015-07-10T06:17:32.249713Z can0 123#DEADBEEF R
	// (1436509052.249713) can0 123#DEADBEEF R
}

func ExampleLogReader() {
	logText := `(1436509052.249713) can0 7E0#023E80
DROPCOUNT: dropped 1 CAN frame on 'can0' socket (total drops 1)
(1436509052.250012) can0 7E8#027E00
`
	r := can.NewLogReader(strings.NewReader(logText))
	w := can.NewLogWriter(os.Stdout)
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		e.Interface = "vcan0"
		if err := w.Write(e); err != nil {
			fmt.Println(err)
			return
		}
	}
	w.Flush()
	// Output:
	// (1436509052.249713) vcan0 7E0#023E80
	// (1436509052.250012) vcan0 7E8#027E00
}

func ExampleHub() {
	hub := can.NewHub()
	tester := hub.Attach()
	ecu := hub.Attach(can.Filter{ID: 0x7E0, Mask: 0x7FF}) // only the ECU's request id
	defer tester.Close()
	defer ecu.Close()

	ctx := context.Background()
	req, _ := can.ParseFrame("7E0#023E80")
	if err := tester.Send(ctx, req); err != nil {
		log.Fatal(err)
	}
	r, err := ecu.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ecu got", r.Frame)
	// Output:
	// ecu got 7E0#023E80
}

func ExampleWithBitrate() {
	hub := can.NewHub(can.WithBitrate(500_000))
	a, b := hub.Attach(), hub.Attach()
	defer a.Close()
	defer b.Close()

	f, _ := can.ParseFrame("123#0011223344556677")
	fmt.Println("on the bus for", can.FrameDuration(&f, 500_000, 0))

	start := time.Now()
	for range 10 {
		if err := a.Send(context.Background(), f); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("10 frames took at least 2.7ms:", time.Since(start) >= 2700*time.Microsecond)
	// Output:
	// on the bus for 270µs
	// 10 frames took at least 2.7ms: true
}

func ExampleParseSpec() {
	for _, spec := range []string{"virtual:bus0", "socketcan:can0", "virtual:can.bus0", "serial:ttyS0"} {
		s, err := can.ParseSpec(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("kind %s, name %s\n", s.Kind, s.Name)
	}
	// Output:
	// kind virtual, name bus0
	// kind socketcan, name can0
	// can: invalid bus spec "virtual:can.bus0": invalid bus or interface name: "can.bus0": character '.' is not allowed in a NATS subject token
	// can: invalid bus spec "serial:ttyS0": unknown kind "serial" (want virtual or socketcan)
}

func ExampleOpen() {
	// An in-process NATS server stands in for the rig's bus.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(5 * time.Second) {
		log.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	ctx := context.Background()
	bus, err := can.Open(ctx, "virtual:bus0", can.WithNATS(nc))
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	// Any NATS client can put a frame on the bus, as "nats pub" would.
	if err := nc.Publish("can.bus0", []byte("7E0#023E80")); err != nil {
		log.Fatal(err)
	}
	r, err := bus.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Frame)
	// Output:
	// 7E0#023E80
}
