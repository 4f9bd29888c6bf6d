package bus

import (
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
