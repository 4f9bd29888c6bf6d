package controller_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/service"
)

// A call's deadline reaches the service in the body's prefix when the
// service's ping says it reads it, in the Bgkit-Timeout-Ms header when it
// does not (a service of another version or language); a call without a
// deadline carries neither.
func TestDeadlineTravels(t *testing.T) {
	for _, tc := range []struct {
		name, pong string
		prefix     bool
	}{
		{"prefix", `{"name":"ECHO","metadata":{"timeout_prefix":"1"}}`, true},
		{"no metadata", `{"name":"ECHO"}`, false},
		{"not a pong", `not json`, false},
		{"another value", `{"metadata":{"timeout_prefix":"2"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			_, reqs := rawServicePong(t, b, tc.pong)
			c := connectECHO(t, b)
			ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
			defer cancel()
			out := goCall(ctx, c)
			m := <-reqs
			header := m.Header.Get(service.TimeoutHeader)
			if tc.prefix {
				if header != "" || !bytes.HasPrefix(m.Data, []byte("\x1e")) || !bytes.HasSuffix(m.Data, []byte("\n")) {
					t.Errorf("with a deadline: header %q, body %q; want the prefix alone", header, m.Data)
				} else if ms := string(m.Data[1 : len(m.Data)-1]); ms != "4000" && ms != "3999" {
					t.Errorf("budget %s ms, want 4000", ms)
				}
			} else if header != "4000" && header != "3999" || len(m.Data) != 0 {
				t.Errorf("with a deadline: header %q, body %q; want the header alone", header, m.Data)
			}
			answer(t, m, "a")
			if o := <-out; o.err != nil || o.reply != "a" {
				t.Fatalf("call: %q %v", o.reply, o.err)
			}

			out = goCall(context.Background(), c)
			m = <-reqs
			if m.Header.Get(service.TimeoutHeader) != "" || len(m.Data) != 0 {
				t.Errorf("without a deadline: header %v, body %q; want neither", m.Header, m.Data)
			}
			answer(t, m, "b")
			if o := <-out; o.err != nil || o.reply != "b" {
				t.Fatalf("call: %q %v", o.reply, o.err)
			}
		})
	}
}

// An instance that does not read the prefix although the one pinged at
// Connect did (replaced by, or joined by, one of an earlier version)
// refuses the body: its 400 names the RS byte, which no body the
// controller writes holds otherwise, or, for a method without input,
// says it got bytes. The call is sent again with the header (the method
// did not run), and the controller sends the header from then on. Any
// other 400 is the caller's. The refusals are those of bgkit at 7343b04.
func TestDeadlineFallsBackToTheHeader(t *testing.T) {
	for _, refusal := range []string{
		`echo: bad argument: invalid JSON at byte 1: invalid character '\x1e' looking for beginning of value`,
		`echo: bad argument: strconv.Atoi: parsing "\x1e5000\n1": invalid syntax`,
		`echo takes no argument; got 4 bytes`,
	} {
		t.Run(refusal[:20], func(t *testing.T) {
			b := bgkittest.Bus(t)
			_, reqs := rawServicePong(t, b, `{"name":"ECHO","metadata":{"timeout_prefix":"1"}}`)
			c := connectECHO(t, b)
			refuse := func(m *nats.Msg, msg string) {
				t.Helper()
				if err := m.RespondMsg(bus.ErrorReply(m.Reply, 400, msg)); err != nil {
					t.Fatal(err)
				}
			}
			// headerOnly: m, the request of the call out, carries its deadline
			// in the header alone; answered reply, the call returns it.
			headerOnly := func(what string, m *nats.Msg, out chan callOut, reply string) {
				t.Helper()
				if h := m.Header.Get(service.TimeoutHeader); h == "" || len(m.Data) != 0 {
					t.Fatalf("%s: header %q, body %q; want the header alone", what, h, m.Data)
				}
				answer(t, m, reply)
				if o := <-out; o.err != nil || o.reply != reply {
					t.Fatalf("%s: %q %v", what, o.reply, o.err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
			defer cancel()

			// A 400 of its own: returned, not sent again.
			out := goCall(ctx, c)
			m := nextRequest(t, reqs)
			if !bytes.HasPrefix(m.Data, []byte("\x1e")) {
				t.Fatalf("first call: body %q, want the prefix", m.Data)
			}
			refuse(m, "echo: the ECU did not answer")
			var se *controller.ServiceError
			if o := <-out; !errors.As(o.err, &se) || se.Code != 400 {
				t.Fatalf("a 400 of the method's: %v", o.err)
			}

			// The prefix refused: sent again with the header, and answered.
			out = goCall(ctx, c)
			m = nextRequest(t, reqs)
			if !bytes.HasPrefix(m.Data, []byte("\x1e")) {
				t.Fatalf("second call: body %q, want the prefix", m.Data)
			}
			refuse(m, refusal)
			headerOnly("sent again", nextRequest(t, reqs), out, "a")

			// From then on, the header.
			out = goCall(ctx, c)
			headerOnly("next call", nextRequest(t, reqs), out, "b")
		})
	}
}

// nextRequest is the next request the raw service got, within 5 s.
func nextRequest(t *testing.T, reqs chan *nats.Msg) *nats.Msg {
	t.Helper()
	select {
	case m := <-reqs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no request came")
		return nil
	}
}
