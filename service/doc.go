// Package service is what a service author writes against: the [Service]
// interface, how exported methods become endpoints, and [Run], which serves
// a service on a bus.
//
// # Endpoints
//
// Every exported method whose first parameter is a context.Context and
// whose last result is an error — except Initialize and Shutdown — is an
// endpoint. Allowed shapes:
//
//	func (s *S) Reset(ctx context.Context) error
//	func (s *S) Value(ctx context.Context) (int, error)
//	func (s *S) SetInterval(ctx context.Context, ms int) error
//	func (s *S) Add(ctx context.Context, n int) (int, error)
//
// A method returning an iterator is a streaming endpoint (see Streams):
//
//	func (s *S) Tail(ctx context.Context, f Filter) (iter.Seq2[can.Frame, error], error)
//	func (s *S) Ticks(ctx context.Context) (iter.Seq2[int, error], error)
//
// The method name in snake_case is the endpoint: svc.<NAME>.set_interval.
// Acronyms stay whole, plurals included: ReadDTCs is read_dtcs, HTTPStatus
// is http_status (see [MethodName]). A service with a method
// EndpointNames() map[string]string chooses names itself, e.g.
// {"DoIPAddress": "doip_address"}; one with EndpointDocs()
// map[string]string gives each method a one-line doc (see [EndpointNamer],
// [EndpointDocumenter]).
// Input and output travel as JSON. Struct inputs are decoded strictly
// (unknown fields are refused) and their validate tags are checked.
//
// # Deadlines
//
// A caller's time budget gives the method's ctx a deadline. It travels in
// the header Bgkit-Timeout-Ms (milliseconds; `nats req -H
// Bgkit-Timeout-Ms:500 …`), or ahead of the JSON in the body: RS (0x1E),
// the milliseconds in decimal digits, LF ("\x1e500\n{...}"; see
// [AppendTimeoutPrefix]). The Go controller sends the prefix to services
// whose $SRV.PING metadata has [MetadataTimeoutPrefix] "1" (every service
// of this version), because NATS charges a message with a header 5–10 µs
// here and the same bytes in the body nothing measurable; to others, the
// header (and, when an instance refuses the prefix as input — one of an
// earlier version answering under the name — that call again, and
// every call after it). With both, the shorter budget counts. A header that is not a
// budget is ignored (no deadline); a body that starts with RS but is not
// a prefix is a 400. A method that gives up at its deadline answers 504.
//
// # Describing
//
// $SRV.INFO reports, for each endpoint, its doc (metadata "doc") and the
// JSON Schema of its input and output ("in_schema", "out_schema"; see
// [JSONSchema]), so `bgkit describe NAME` and any NATS client can tell
// what a method takes. Struct fields are documented with a doc:"..." tag;
// validate tags appear as schema keywords and in words (x-rule).
//
// # Argument errors
//
// [Decode] decodes and validates arguments and says what is wrong in the
// user's terms, naming the JSON field and the rule in words:
// "interval_ms: must be at least 0, got -5", "step: is required",
// `interval_ms: must be a number, got string "x"`. Calls, spawn, rig files
// and `bgkit run` all use it.
//
// # Names
//
// A service's name defaults to [DeriveName] of its type:
// TesterPresentService serves as TESTER_PRESENT_SERVICE. [WithName]
// overrides it.
//
// # Errors
//
// A method's error answers with the NATS micro error headers
// (Nats-Service-Error, Nats-Service-Error-Code): 400 for undecodable or
// invalid input, 404 for an unknown method (the message lists the known
// ones), 500 for an error returned by the method or a panic (the service
// keeps serving), 503 while shutting down. A method may return an [*Error]
// (see [Errorf], [BadRequest]) to choose the code.
//
// # Serving
//
// [Run] calls Initialize, answers calls concurrently (up to
// [WithConcurrency]) and speaks the NATS micro discovery protocol
// ($SRV.PING, $SRV.INFO, $SRV.STATS), so `nats micro ls` lists the
// service. When its ctx ends it answers new calls 503, lets calls in flight
// finish, runs Shutdown, and unsubscribes. Unlike nats.go micro it never
// stops serving because of a slow-consumer error.
//
// A call is handled, reply included, by the goroutine that took it from
// the subscription: there is no hand-off per call. While one has been in
// a method for a millisecond, more goroutines start for the calls queued
// behind it, so a slow method delays the others by about that much and
// never holds them.
//
// Inside Initialize, Shutdown and methods, [BusFrom] returns the bus the
// service is served on, for virtual CAN buses or calls to other services.
//
// # Events
//
// [Emit] publishes a value as JSON on evt.<NAME>.<topic> (topic: one
// subject token, see bus.ValidateTopic), with headers Bgkit-Event-Seq (the
// number of the event in its topic, from 1, per instance),
// Bgkit-Event-Source (a random id of the instance; the numbering restarts
// with a new one) and Bgkit-Event-Time (Unix nanoseconds). Emit never waits
// for subscribers; a gap in the numbers tells a subscriber what it missed.
// From a shell, nats sub 'evt.>' follows them all.
//
// # Streams
//
// A method returning (iter.Seq2[Out, error], error) streams: the caller
// pulls items in batches, so a slow reader slows the method (its yield
// blocks), nothing is lost and memory is bounded on both sides (here: 256
// encoded items ahead plus one batch). The method's ctx ends when the
// caller stops, goes silent, or its deadline passes, when the iterator
// returns, and at shutdown. An error yielded by the iterator ends the
// stream with that error, after the items before it.
//
// The wire protocol, for any NATS client:
//
//  1. Open: a request on svc.<NAME>.<method> with header
//     Bgkit-Stream: open and the JSON input as body (as for a call).
//     Optional headers: Bgkit-Stream-Idle-Ms (how long the service keeps a
//     stream whose caller sends nothing; default 30000) and Bgkit-Timeout-Ms
//     (a deadline for the whole stream). The reply is either an error (the
//     Nats-Service-Error headers, as for a call: 400, 404, 500, 503 — 503
//     also when the service already holds as many open streams as it
//     handles calls at once, WithConcurrency) or an
//     empty message whose Bgkit-Stream header is the stream's subject, an
//     inbox of the service's own connection (_INBOX.…; in a child,
//     _INBOX.bgkit_<NAME>.<ID>), which only that instance subscribes to and
//     every caller may publish to. A plain call of a streaming method
//     is a 400, and so is an open of a plain method.
//  2. Pull: a request on the stream's subject whose body is the credit, a
//     decimal number of items (empty: 100; at most 10000). The reply is a
//     batch: up to that many items, each one JSON value followed by "\n"
//     (JSON Lines). The service answers as soon as it has at least one item;
//     with none for 1 s it answers an empty batch (a heartbeat). A caller may
//     keep several pulls outstanding, each with its own reply subject (the
//     Go controller keeps 2 pulls of 1000 on _INBOX.x.0, _INBOX.x.1, …);
//     their batches come in order.
//  3. End: the last batch has header Bgkit-Stream-End: 1. If the stream
//     ended with an error it also carries Nats-Service-Error and
//     Nats-Service-Error-Code (500 for an error of the iterator, 503 at
//     shutdown). After the end the stream's subject has no responders.
//  4. Stop: a message on the stream's subject with body "stop" (a request
//     or a plain publish) ends the method's ctx at once; a request is
//     answered with the end.
//  5. Keepalive: any message on the stream's subject without a reply
//     subject tells the service that the caller lives. A stream whose
//     caller sent nothing for its idle time is ended (the caller is
//     presumed dead). The Go controller asks for 3 s and sends a keepalive
//     every 500 ms while its reader is busy.
//
// From a shell:
//
//	nats req svc.CAN_RECORDER_SERVICE.tail '{}' -H 'Bgkit-Stream:open'   # prints the stream subject
//	nats req '_INBOX.bgkit_CAN_RECORDER_SERVICE.<ID>' 100                 # a batch of up to 100 frames
//	nats pub '_INBOX.bgkit_CAN_RECORDER_SERVICE.<ID>' stop
package service
