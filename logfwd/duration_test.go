package logfwd_test

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/bgkit/bgkit/logfwd"
)

// TestHandlerDurationsAsText: a duration travels as "5s", at the top level
// and in groups, and a caller's ReplaceAttr still applies after it.
func TestHandlerDurationsAsText(t *testing.T) {
	nc := natsConn(t)
	sub, err := nc.SubscribeSync("log.DUR")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	upper := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "shout" {
			a.Value = slog.StringValue(a.Value.String() + "!")
		}
		return a
	}
	l := slog.New(logfwd.NewHandler(nc, "log.DUR", &slog.HandlerOptions{ReplaceAttr: upper}))
	l.Info("timing", "s3", 5*time.Second, slog.Group("g", "p2", 1500*time.Microsecond), "shout", "hi", "n", 7)
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		S3    string              `json:"s3"`
		G     struct{ P2 string } `json:"g"`
		Shout string              `json:"shout"`
		N     int                 `json:"n"`
	}
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatalf("%s: %v", m.Data, err)
	}
	if got.S3 != "5s" || got.G.P2 != "1.5ms" || got.Shout != "hi!" || got.N != 7 {
		t.Fatalf("record %s", m.Data)
	}
}
