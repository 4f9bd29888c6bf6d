package uds_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/uds"
	"github.com/bgkit/bgkit/uds/isotp"
)

// servedECU serves s on an ISO-TP Conn (RxID 0x7E0, TxID 0x7E8) of a
// fresh hub and returns the raw frames a tester sends and receives there.
// Serve must still be running when the test ends.
func servedECU(t *testing.T, s *uds.Server) (send func(string), recv func() []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	h := can.NewHub()
	node := h.Attach()
	t.Cleanup(func() { node.Close() })
	ecu, err := isotp.New(node, isotp.Config{TxID: 0x7E8, RxID: 0x7E0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ecu.Close() })
	raw := h.Attach()
	t.Cleanup(func() { raw.Close() })
	served := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() { served <- s.Serve(sctx, ecu) }()
	t.Cleanup(func() {
		stop()
		<-served
	})
	send = func(txt string) {
		t.Helper()
		f, err := can.ParseFrame(txt)
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Send(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	recv = func() []byte {
		t.Helper()
		rctx, c := context.WithTimeout(ctx, time.Second)
		defer c()
		r, err := raw.Recv(rctx)
		if err != nil {
			select {
			case err := <-served:
				served <- err
				t.Fatalf("no frame from the ECU; Serve returned: %v", err)
			default:
			}
			t.Fatalf("no frame from the ECU: %v", err)
		}
		return r.Frame.Payload()
	}
	return send, recv
}

// A segmented request with a wrong sequence number loses that request
// (isotp reports it once); Serve answers the next one.
func TestServeGoesOnAfterAGarbledRequest(t *testing.T) {
	send, recv := servedECU(t, uds.NewServer())
	send("7E0#1014000102030405") // FF of a 20-byte request
	if fc := recv(); fc[0] != 0x30 {
		t.Fatalf("want FC CTS, got % X", fc)
	}
	send("7E0#22060708090A0B0C") // SN 2 where 1 is due
	send("7E0#023E00CCCCCCCCCC") // TesterPresent
	if got := recv(); !bytes.HasPrefix(got, []byte{0x02, 0x7E, 0x00}) {
		t.Fatalf("TesterPresent answered with % X, want 02 7E 00", got)
	}
}

// A tester that answers a long response's first frame with FC OVFLW
// loses that response; Serve answers the next request.
func TestServeGoesOnAfterARefusedResponse(t *testing.T) {
	s := uds.NewServer()
	s.Handle(uds.SIDReadDataByIdentifier, func(context.Context, []byte) ([]byte, error) {
		return append([]byte{0x62, 0xF1, 0x90}, bytes.Repeat([]byte{'V'}, 17)...), nil
	})
	send, recv := servedECU(t, s)
	send("7E0#0322F190CCCCCCCC")
	if ff := recv(); ff[0] != 0x10 {
		t.Fatalf("want FF, got % X", ff)
	}
	send("7E0#320000CCCCCCCCCC") // FC OVFLW
	send("7E0#023E00CCCCCCCCCC")
	if got := recv(); !bytes.HasPrefix(got, []byte{0x02, 0x7E, 0x00}) {
		t.Fatalf("TesterPresent answered with % X, want 02 7E 00", got)
	}
}
