package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

type lsReal struct{}

func (lsReal) Initialize(context.Context) error { return nil }
func (lsReal) Shutdown(context.Context) error   { return nil }
func (lsReal) Nop(context.Context) error        { return nil }

// A child answering the generic $SRV.STATS in another service's name is not
// listed (issue 9, finding 3).
func TestLsSkipsForgedAnswers(t *testing.T) {
	b := bgkittest.Bus(t)
	bgkittest.Serve(t, b, lsReal{}, service.WithName("REAL"))
	creds, err := b.Grant("SPY")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Revoke("SPY")
	spy, err := bus.Dial(context.Background(), creds)
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	fake, _ := json.Marshal(micro.Stats{ServiceIdentity: micro.ServiceIdentity{Name: "VICTIM", ID: "FAKE"}, Type: micro.StatsResponseType})
	if _, err := spy.Conn().Subscribe("$SRV.STATS", func(m *nats.Msg) { _ = m.Respond(fake) }); err != nil {
		t.Fatal(err)
	}
	if err := spy.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, context.Background(), "ls", "--server", b.Credentials().ShareURL())
	if code != 0 || !strings.Contains(out, "REAL") {
		t.Fatalf("ls = %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "VICTIM") || !strings.Contains(errOut, "VICTIM (id FAKE)") {
		t.Fatalf("the forged answer is listed or not reported:\n%s\n%s", out, errOut)
	}
}
