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
// Inside Initialize, Shutdown and methods, [BusFrom] returns the bus the
// service is served on, for virtual CAN buses or calls to other services.
package service
