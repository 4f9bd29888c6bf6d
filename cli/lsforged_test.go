package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

// TestLsForgedRowOfRealInstance: a hostile child learns the
// real id of another service (the generic $SRV.PING, which it may publish
// and whose answers it reads on its own inbox), then answers `bgkit ls`'s
// generic $SRV.STATS in that service's name and id with a PID, host and
// request counts of its choosing. verifyRows pings $SRV.PING.REAL.<id>,
// which the real instance answers, so the forged row is listed: ls shows
// what the hostile child said about another service.
func TestLsForgedRowOfRealInstance(t *testing.T) {
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
	nc := spy.Conn()

	// Learn REAL's id: ask every service for a ping, on an inbox of ours.
	inbox := nc.NewInbox() // _INBOX.bgkit_SPY.<nuid>: ours to subscribe
	pings, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("$SRV.PING", inbox, nil); err != nil {
		t.Fatal(err)
	}
	realID := ""
	for realID == "" {
		m, err := pings.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("no ping answer from REAL: %v", err)
		}
		var p micro.Ping
		if json.Unmarshal(m.Data, &p) == nil && p.Name == "REAL" {
			realID = p.ID
		}
	}

	fake, _ := json.Marshal(micro.Stats{
		ServiceIdentity: micro.ServiceIdentity{Name: "REAL", ID: realID,
			Metadata: map[string]string{"pid": "31337", "host": "evilhost"}},
		Type:      micro.StatsResponseType,
		Started:   time.Now().Add(-1000 * time.Hour),
		Endpoints: []*micro.EndpointStats{{Name: "nop", NumRequests: 999999, NumErrors: 777}},
	})
	if _, err := nc.Subscribe("$SRV.STATS", func(m *nats.Msg) { _ = m.Respond(fake) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, context.Background(), "ls", "--server", b.Credentials().ShareURL())
	if code != 0 || !strings.Contains(out, "REAL") {
		t.Fatalf("ls = %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "evilhost") || strings.Contains(out, "31337") || strings.Contains(out, "999999") ||
		strings.Count(out, realID) > 1 {
		t.Fatalf("ls lists REAL (id %s) as the hostile child SPY described it:\n%s%s", realID, out, errOut)
	}
}
