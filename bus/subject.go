package bus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/micro"
)

// Subject prefixes of the wire contract.
const (
	ServicePrefix = "svc."
	LogPrefix     = "log."
	CANPrefix     = "can."
	EventPrefix   = "evt."
	LifePrefix    = "life."
)

// ErrBadName is wrapped by ValidateName's and ValidateTopic's errors.
var ErrBadName = errors.New("bad name")

// ServiceSubject is the subject of one method of a service: svc.NAME.method.
func ServiceSubject(name, method string) string { return ServicePrefix + name + "." + method }

// ServiceWildcard matches every method of a service: svc.NAME.>.
func ServiceWildcard(name string) string { return ServicePrefix + name + ".>" }

// LogSubject is where a service publishes its log records: log.NAME.
func LogSubject(name string) string { return LogPrefix + name }

// CANSubject is the subject of a virtual CAN bus: can.BUS.
func CANSubject(bus string) string { return CANPrefix + bus }

// EventSubject is where a service publishes events of a topic:
// evt.NAME.topic.
func EventSubject(name, topic string) string { return EventPrefix + name + "." + topic }

// EventWildcard matches every event of a service (evt.NAME.>), or of every
// service when name is empty (evt.>).
func EventWildcard(name string) string {
	if name == "" {
		return EventPrefix + ">"
	}
	return EventPrefix + name + ".>"
}

// LifeSubject is where the parent (or agent) of an instance publishes its
// lifecycle events: life.NAME; "" gives life.* for every service.
func LifeSubject(name string) string {
	if name == "" {
		return LifePrefix + "*"
	}
	return LifePrefix + name
}

// ControlSubject is a NATS micro discovery subject: $SRV.VERB, $SRV.VERB.NAME
// or $SRV.VERB.NAME.ID (name and id may be empty).
func ControlSubject(verb micro.Verb, name, id string) string {
	s, err := micro.ControlSubject(verb, name, id)
	if err != nil { // only for an id without a name
		return "$SRV." + verb.String()
	}
	return s
}

// ControlSubjects are the three discovery subjects an instance answers for
// one verb: generic, by name, by name and id.
func ControlSubjects(verb micro.Verb, name, id string) []string {
	return []string{ControlSubject(verb, "", ""), ControlSubject(verb, name, ""), ControlSubject(verb, name, id)}
}

// ValidateName checks that name can be one subject token: 1–64 characters
// from A–Z, a–z, 0–9, '_' and '-'.
func ValidateName(name string) error { return validateToken("name", name) }

// ValidateTopic checks that an event topic is one subject token, with the
// rules of ValidateName.
func ValidateTopic(topic string) error { return validateToken("topic", topic) }

func validateToken(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrBadName, what)
	}
	if len(s) > 64 {
		return fmt.Errorf("%w: %s %q is longer than 64 characters", ErrBadName, what, s)
	}
	n := 0 // characters before c
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %s %q has %q at %d (allowed: ASCII letters, digits, _ and -)", ErrBadName, what, s, c, n)
		}
		n++
	}
	return nil
}

// IsInbox reports whether a reply subject lies in the reply namespace of
// NATS clients: _INBOX.… or a custom prefix _INBOX_…, and is one literal
// subject (no wildcard, empty token or white space). Responders of bgkit
// answer only such subjects, so that no request can make them publish onto
// log., evt., life. or $SRV. subjects, nor onto many inboxes at once.
func IsInbox(reply string) bool {
	if !strings.HasPrefix(reply, "_INBOX.") && !strings.HasPrefix(reply, "_INBOX_") {
		return false
	}
	start := 0
	for i := 0; i <= len(reply); i++ {
		if i == len(reply) || reply[i] == '.' {
			if tok := reply[start:i]; tok == "" || tok == "*" || tok == ">" {
				return false
			}
			start = i + 1
			continue
		}
		if c := reply[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// AgentSubject is a subject of the agent called agent outside its service
// (svc.AGENT-<agent>.…): bgkit.agent.<agent>.<verb>, e.g. the exit events
// of the services it runs on bgkit.agent.<agent>.exit.<lease>.
func AgentSubject(agent, verb string) string { return "bgkit.agent." + agent + "." + verb }

// RecentLogsSubject is where a rig's owner (bgkit up or run) answers
// requests for the last records of each service (bgkit logs -n, --since).
const RecentLogsSubject = "bgkit.logs.recent"
