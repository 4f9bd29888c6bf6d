package ecuwatchdog

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/uds"
)

// answering is a transport whose ECU answers every request with reply.
type answering struct {
	reply []byte
	req   chan struct{}
}

func (a *answering) Send(context.Context, []byte) error { a.req <- struct{}{}; return nil }
func (a *answering) Recv(ctx context.Context) ([]byte, error) {
	select {
	case <-a.req:
		return a.reply, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A malformed positive reply to the session probe (62 F1 86 without the
// session byte, or a session of 0) is still a reply: the ECU is alive, so
// it must not count as missed, nor raise ecu_crashed.
func TestMalformedReplyIsAReply(t *testing.T) {
	for _, reply := range [][]byte{{0x62, 0xF1, 0x86}, {0x62, 0xF1, 0x86, 0x00}, {0x62, 0xF1}} {
		s, err := newService(Args{TxID: 0x7E0, RxID: 0x7E8, Probe: ProbeSession}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		c := uds.NewClient(&answering{reply: reply, req: make(chan struct{}, 1)})
		for range s.args.CrashAfter + 1 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			session, err := probeWith(ctx, &s.args, c)
			cancel()
			if err == nil {
				t.Fatalf("reply % X: probe took it as session %d", reply, session)
			}
			s.observe(context.Background(), time.Now(), session, err)
		}
		if st := s.st; st.State != StateOK || st.Missed != 0 || st.Crashes != 0 || st.LastError == "" {
			t.Errorf("reply % X: state %s, missed %d, crashes %d, last error %q: want ok, 0, 0 and the reply's fault",
				reply, st.State, st.Missed, st.Crashes, st.LastError)
		}
	}
}
