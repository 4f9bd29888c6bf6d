package spawn_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/spawn"
)

// Spawn a registered kind in a child process, call it and stop it. (The
// test binary's TestMain registers "ping" and calls spawn.Main first.)
func ExampleRunKind() {
	ctx := context.Background()
	b, _ := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	defer b.Close()

	h, err := spawn.RunKind(ctx, b, "ping", []byte(`{"port": 8080}`), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	fmt.Println(h.ServiceName())

	c, _ := controller.Connect(ctx, b, h.ServiceName())
	var port int
	_ = c.Call(ctx, "port", nil, &port)
	fmt.Println(port)

	fmt.Println(h.Terminate(ctx), h.Err())
	// Output:
	// PING_SERVICE
	// 8080
	// <nil> <nil>
}

func ExampleCheckKindArgs() {
	err := spawn.CheckKindArgs("ping", []byte(`{"port": 0}`))
	fmt.Println(err)
	// Output: port: must be at least 1, got 0
}
