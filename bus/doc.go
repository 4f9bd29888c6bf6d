// Package bus is a process's connection to the bgkit fabric: a NATS server
// that carries service calls, logs and virtual CAN traffic.
//
// # Embedded or external
//
// [Start] runs an embedded nats-server in this process (loopback only, random
// port, credentials made fresh for the run) and connects to it without TCP.
// [Connect] joins an external NATS deployment, for rigs that span several
// machines, with user/password, token, nkey, creds-file and TLS options.
//
// # Children
//
// A parent hands each child process [Credentials] from [Bus.Grant]: on the
// embedded server they belong to a user that may serve only its own
// svc.<NAME>.> subjects and publish only its own log.<NAME> subject. The child
// connects with [Dial]. Credentials travel over a pipe, never in argv.
//
// Children may publish on the reply namespace (_INBOX.>), where their
// replies go: an inbox a child can name is one it can answer in. Wait for
// an answer you act on on an inbox of [NewInbox] (or with [Request]), not
// nats.go's NewInbox or Request: a process's NUIDs follow one another, and
// a child that saw one reply subject can work out the others.
//
// # Subjects
//
//	svc.<NAME>.<method>   requests to a service
//	log.<NAME>            log records a service publishes
//	can.<bus>             frames of a virtual CAN bus
//	$SRV.PING|INFO|STATS  NATS micro discovery
package bus
