package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// TestRespond: a value is answered as JSON without error headers, an
// error with the micro error headers (its message, the code given), and
// a reply subject that is no inbox gets nothing.
func TestRespond(t *testing.T) {
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc := b.Conn()
	tests := []struct {
		name     string
		v        any
		code     int
		err      error
		wantData string
		wantCode int // 0: no error headers
	}{
		{name: "value", v: map[string]int{"n": 1}, wantData: `{"n":1}`},
		{name: "nil value", v: nil, wantData: `null`},
		{name: "error", code: 409, err: errors.New("name in use"), wantCode: 409},
		{name: "error ignores the value", v: 1, code: 400, err: errors.New("bad"), wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := nc.Subscribe("test.respond", func(m *nats.Msg) { bus.Respond(m, tt.v, tt.code, tt.err) })
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			m, err := bus.Request(context.Background(), nc, &nats.Msg{Subject: "test.respond"}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			code, msg, failed := bus.ReplyError(m)
			switch {
			case tt.wantCode == 0 && (failed || string(m.Data) != tt.wantData):
				t.Errorf("answered %q (error %v %d %q), want %s", m.Data, failed, code, msg, tt.wantData)
			case tt.wantCode != 0 && (!failed || code != tt.wantCode || msg != tt.err.Error() || len(m.Data) != 0):
				t.Errorf("answered %q (error %v %d %q), want %d %q", m.Data, failed, code, msg, tt.wantCode, tt.err)
			}
		})
	}

	// A reply subject that is no inbox: nothing is published there.
	sub, err := nc.Subscribe("test.respond", func(m *nats.Msg) { bus.Respond(m, 1, 0, nil) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	got, err := nc.SubscribeSync("log.VICTIM")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Unsubscribe()
	if err := nc.PublishRequest("test.respond", "log.VICTIM", nil); err != nil {
		t.Fatal(err)
	}
	// A round trip through the responder after the request: an answer
	// to log.VICTIM would have come before its own.
	if _, err := bus.Request(context.Background(), nc, &nats.Msg{Subject: "test.respond"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if m, err := got.NextMsg(0); err == nil {
		t.Errorf("answered onto a subject that is no inbox: %q", m.Data)
	}
}
