package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bgkit/bgkit/bus"
)

// Start an embedded bus: loopback only, random port, fresh credentials.
func ExampleStart() {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	fmt.Println(strings.HasPrefix(b.URL(), "nats://127.0.0.1:"), b.Embedded())
	// Output: true true
}

func ExampleBus_Grant() {
	b, _ := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	defer b.Close()
	c, _ := b.Grant("TESTER_PRESENT_SERVICE")
	fmt.Println(c.User, c.InboxPrefix)
	fmt.Println(bus.ChildPermissions("TESTER_PRESENT_SERVICE", c.InboxPrefix).Publish)
	// Output:
	// TESTER_PRESENT_SERVICE _INBOX_TESTER_PRESENT_SERVICE
	// [log.TESTER_PRESENT_SERVICE evt.TESTER_PRESENT_SERVICE.> svc.> can.> $SRV.PING.>]
}
