package embeddednats_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/embeddednats"
)

// TestDivertIsAheadOfWhatFollows: once Divert returns, what a connection
// publishes on the subject is diverted, however much of it the server has
// already read from the socket; at most the one message the connection's
// reader was routing can still reach the subscriber after a message
// published once Divert returned. nats-server looks at an account's
// mappings once per socket read, so a connection whose buffer was read
// before the diversion had all of it routed undiverted (up to hundreds of
// messages, behind the marker below); Start keeps a mapping in place so
// that it looks at each message.
func TestDivertIsAheadOfWhatFollows(t *testing.T) {
	s, err := embeddednats.Start(embeddednats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	connect := func() *nats.Conn {
		t.Helper()
		nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(embeddednats.AdminUser, s.AdminPassword()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	const callers = 4
	admin, responder := connect(), connect()
	var conns [callers]*nats.Conn
	for i := range conns {
		conns[i] = connect()
	}
	// One channel for both subjects: it holds what the responder's
	// connection received in the order it came.
	got := make(chan *nats.Msg, 1<<20)
	for _, subject := range []string{"svc.X.>", "marker"} {
		sub, err := responder.ChanSubscribe(subject, got)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
	}
	if err := responder.Flush(); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		var stop atomic.Bool
		var wg sync.WaitGroup
		var sent atomic.Int64
		busy := make(chan struct{}) // closed once 20,000 messages went out
		var busyOnce sync.Once
		for i, nc := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := []byte(strconv.Itoa(i))
				for !stop.Load() {
					for range 200 { // a burst the server reads at once
						_ = nc.Publish("svc.X.m", from)
					}
					if sent.Add(200) >= 20_000 {
						busyOnce.Do(func() { close(busy) })
					}
					_ = nc.Flush()
				}
			}()
		}
		// Divert while every caller is in the middle of its bursts.
		<-busy
		if err := s.Divert("svc.X.>"); err != nil {
			t.Fatal(err)
		}
		if err := admin.Publish("marker", []byte("diverted")); err != nil {
			t.Fatal(err)
		}
		if err := admin.Flush(); err != nil {
			t.Fatal(err)
		}
		stop.Store(true)
		wg.Wait() // each caller's last Flush: all it sent is routed
		if err := admin.Publish("marker", []byte("end")); err != nil {
			t.Fatal(err)
		}
		if err := admin.Flush(); err != nil {
			t.Fatal(err)
		}
		var before int
		var after [callers]int
		diverted := false
		for end := false; !end; {
			select {
			case m := <-got:
				switch {
				case string(m.Data) == "diverted":
					diverted = true
				case string(m.Data) == "end":
					end = true
				case !diverted:
					before++
				default:
					i, _ := strconv.Atoi(string(m.Data))
					after[i]++
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: the end marker did not come", round)
			}
		}
		if before == 0 {
			t.Fatalf("round %d: no message reached the subscriber before Divert", round)
		}
		for i, n := range after {
			if n > 1 {
				t.Errorf("round %d: %d messages of connection %d reached the subscriber after Divert (of %d before): want at most 1",
					round, n, i, before)
			}
		}
		if !s.Undivert("svc.X.>") {
			t.Fatalf("round %d: Undivert: not diverted", round)
		}
	}
}
