package canrecorder_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/canrecorder"
)

// A recorder of the frames with identifiers 7E0 to 7EF on bus0. Once stop
// returns, the file holds every frame received before.
func Example() {
	ctx := context.Background()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	dir, err := os.MkdirTemp("", "canrecorder")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bus0.log")

	svc, err := canrecorder.New(canrecorder.Args{
		Bus:       "virtual:bus0",
		Path:      path,
		Filters:   []string{"7E0:7F0"},
		Interface: "can0",
	})
	if err != nil {
		panic(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(runCtx, b, svc, service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	<-ready
	defer func() { cancel(); <-done }()

	tester, err := can.NewVirtual(b.Conn(), "bus0")
	if err != nil {
		panic(err)
	}
	defer tester.Close()
	for _, s := range []string{"7E0#023E80", "123#00", "7E8#027E00"} {
		f, _ := can.ParseFrame(s)
		if err := tester.Send(ctx, f); err != nil {
			panic(err)
		}
	}

	c, err := canrecorder.Connect(ctx, b, "")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Stop(ctx); err != nil {
		panic(err)
	}
	st, _ := c.Stats(ctx)
	fmt.Println("frames:", st.Frames)
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		_, rest, _ := strings.Cut(line, " ") // drop the timestamp
		fmt.Println(rest)
	}
	// Output:
	// frames: 2
	// can0 7E0#023E80
	// can0 7E8#027E00
}
