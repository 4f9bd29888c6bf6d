package controller_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bgkittest"
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
