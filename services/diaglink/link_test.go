package diaglink_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/services/diaglink"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/doip"
)

func diaglinkPtr[T any](v T) *T { return &v }

func TestCheck(t *testing.T) {
	can11 := diaglink.Config{Bus: "virtual:bus0", TxID: 0x7E0, RxID: 0x7E8, Padding: diaglinkPtr(true)}
	with := func(f func(*diaglink.Config)) diaglink.Config { c := can11; f(&c); return c }
	tests := []struct {
		name    string
		c       diaglink.Config
		wantErr string
	}{
		{name: "can", c: can11},
		{name: "can, padding nil", c: with(func(c *diaglink.Config) { c.Padding = nil; c.PadByte = diaglinkPtr[uint8](0) })},
		{name: "extended", c: with(func(c *diaglink.Config) { c.TxID, c.RxID, c.Extended = 0x18DA10F1, 0x18DAF110, true })},
		{name: "doip", c: diaglink.Config{DoIPAddress: "127.0.0.1:13400"}},
		{name: "doip functional", c: diaglink.Config{DoIPAddress: "[::1]:13400", TargetAddress: 0xE400, Functional: true}},
		{name: "doip without port", c: diaglink.Config{DoIPAddress: "127.0.0.1"}, wantErr: `invalid arguments: doip_address "127.0.0.1": want host:port`},
		{name: "doip port 0", c: diaglink.Config{DoIPAddress: "127.0.0.1:0"}, wantErr: `invalid arguments: doip_address "127.0.0.1:0": bad port`},
		{name: "doip port too big", c: diaglink.Config{DoIPAddress: "127.0.0.1:65536"}, wantErr: `invalid arguments: doip_address "127.0.0.1:65536": bad port`},
		{name: "functional on can", c: with(func(c *diaglink.Config) { c.Functional = true }), wantErr: "invalid arguments: functional is for doip_address; on CAN, tx_id says where requests go"},
		{name: "bad bus", c: with(func(c *diaglink.Config) { c.Bus = "can0" }), wantErr: "invalid arguments: bus: "},
		{name: "11-bit tx_id", c: with(func(c *diaglink.Config) { c.TxID = 0x800 }), wantErr: "invalid arguments: tx_id 0x800 exceeds 11 bits"},
		{name: "11-bit rx_id", c: with(func(c *diaglink.Config) { c.RxID = 0x800 }), wantErr: "invalid arguments: rx_id 0x800 exceeds 11 bits"},
		{name: "29-bit tx_id", c: with(func(c *diaglink.Config) { c.TxID, c.Extended = 0x20000000, true }), wantErr: "invalid arguments: tx_id 0x20000000 exceeds 29 bits"},
		{name: "same ids", c: with(func(c *diaglink.Config) { c.TxID = 0x7E8 }), wantErr: "invalid arguments: tx_id and rx_id are both 0x7E8"},
		{name: "pad byte without padding", c: with(func(c *diaglink.Config) { c.Padding, c.PadByte = diaglinkPtr(false), diaglinkPtr[uint8](0x55) }), wantErr: "invalid arguments: pad_byte 0x55 with padding false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Check() = %v", err)
				}
				return
			}
			if err == nil || len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr {
				t.Fatalf("Check() = %v, want %q…", err, tc.wantErr)
			}
			if !errors.Is(err, service.ErrInvalidArgs) {
				t.Errorf("%v does not match service.ErrInvalidArgs", err)
			}
		})
	}
}

// diaglinkEntity runs a DoIP entity at 0x1001 that answers 3E 00 with
// 7E 00 and records the target address of each request.
func diaglinkEntity(t *testing.T) (*doip.Server, chan uint16) {
	t.Helper()
	targets := make(chan uint16, 16)
	srv, err := doip.Listen(doip.ServerConfig{
		Addr:                "127.0.0.1:0",
		LogicalAddress:      0x1001,
		FunctionalAddresses: []uint16{0xE400},
		Handler: func(_ context.Context, sa, ta uint16, data []byte) ([]byte, bool) {
			targets <- ta
			return []byte{0x7E, 0x00}, true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("doip entity: %v", err)
		}
	})
	return srv, targets
}

func TestOpenDoIP(t *testing.T) {
	srv, targets := diaglinkEntity(t)
	for _, tc := range []struct {
		name       string
		target     uint16
		functional bool
		want       uint16
	}{
		{name: "entity address", want: 0x1001},
		{name: "target", target: 0x1001, want: 0x1001},
		{name: "functional", target: 0xE400, functional: true, want: 0xE400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := diaglink.Config{DoIPAddress: srv.Addr().String(), SourceAddress: diaglink.DefaultSourceAddress,
				TargetAddress: 0, Functional: tc.functional}
			c.TargetAddress = hexid.ID(tc.target)
			if err := c.Check(); err != nil {
				t.Fatal(err)
			}
			l, err := c.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := uds.NewClient(l).TesterPresent(ctx, false); err != nil {
				t.Errorf("tester present: %v", err)
			}
			if got := <-targets; got != tc.want {
				t.Errorf("request went to %#x, want %#x", got, tc.want)
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestOpenFails(t *testing.T) {
	ctx := context.Background()
	// A virtual bus needs the service's NATS connection, which ctx lacks.
	_, err := diaglink.Config{Bus: "virtual:nobus", TxID: 0x7E0, RxID: 0x7E8}.Open(ctx)
	if !errors.Is(err, can.ErrNATSRequired) || err.Error()[:len("open virtual:nobus: ")] != "open virtual:nobus: " {
		t.Errorf("Open(virtual without NATS) = %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := (diaglink.Config{DoIPAddress: addr}).Open(ctx); err == nil {
		t.Errorf("Open(%s) of a closed entity succeeded", addr)
	}
}
