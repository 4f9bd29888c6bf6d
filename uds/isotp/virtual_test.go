package isotp

import (
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestVirtualBus round-trips messages between two Conns on a virtual CAN
// bus carried by an in-process NATS server on 127.0.0.1.
func TestVirtualBus(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	node := func(cfg Config) *Conn {
		nc, err := nats.Connect(s.ClientURL(), nats.NoReconnect())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		v, err := can.NewVirtual(nc, "isotp")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		c, err := New(v, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	tests := []struct {
		name  string
		cfg   Config
		sizes []int
	}{
		{"classic", withBlock(tester, 8, 0), []int{2, 4095}},
		{"fd", Config{TxID: 0x18DA10F1, RxID: 0x18DAF110, Extended: true, FD: true, BRS: true, MaxMessageSize: 20_000}, []int{62, 20_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			a, b := node(tt.cfg), node(peer(tt.cfg))
			for _, n := range tt.sizes {
				exchange(t, ctx, a, b, payload(n))
				exchange(t, ctx, b, a, payload(n))
			}
		})
	}
}
