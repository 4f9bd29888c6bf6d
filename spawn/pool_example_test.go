package spawn_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/spawn"
)

// Keep two children exec'd and initialised, so that a spawn skips exec and
// package init; each child still gets its own name, arguments and scoped
// credentials when it is taken.
func ExampleNewPool() {
	ctx := context.Background()
	b, _ := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	defer b.Close()
	pool, err := spawn.NewPool(b, 2)
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	h, err := spawn.RunKind(ctx, b, "ping", []byte(`{"port": 8080}`),
		spawn.WithPool(pool), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	fmt.Println(h.ServiceName(), h.Terminate(ctx))
	// Output: PING_SERVICE <nil>
}
