package bus

import (
	"encoding/json"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// ErrorReply is the reply message of a failed request, with the NATS micro
// error headers of the wire contract: Nats-Service-Error (msg) and
// Nats-Service-Error-Code (code). Every bgkit responder answers errors
// with it.
func ErrorReply(reply string, code int, msg string) *nats.Msg {
	r := nats.NewMsg(reply)
	r.Header.Set(micro.ErrorHeader, msg)
	r.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(code))
	return r
}

// ReplyError reads the micro error headers of a reply: ok is false for a
// reply that is not an error. A code that is not a number reads as 500.
func ReplyError(m *nats.Msg) (code int, msg string, ok bool) {
	if m == nil || m.Header == nil {
		return 0, "", false
	}
	c := m.Header.Get(micro.ErrorCodeHeader)
	if c == "" {
		return 0, "", false
	}
	code, err := strconv.Atoi(c)
	if err != nil {
		code = 500
	}
	return code, m.Header.Get(micro.ErrorHeader), true
}

// Respond answers the request m, on the connection of its subscription:
// with v as JSON when err is nil, else with ErrorReply's micro error
// headers, err's message and code (code is not looked at for a nil err).
// A request whose reply subject is not an inbox (see IsInbox) gets no
// answer: bgkit answers only inboxes, so that nobody can make it publish
// on a subject of their choosing.
func Respond(m *nats.Msg, v any, code int, err error) {
	if !IsInbox(m.Reply) {
		return
	}
	if err != nil {
		_ = m.RespondMsg(ErrorReply(m.Reply, code, err.Error()))
		return
	}
	data, _ := json.Marshal(v)
	_ = m.Respond(data)
}
