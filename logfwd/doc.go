// Package logfwd carries log/slog records between processes over NATS.
//
// # Child side
//
// [NewHandler] returns a [log/slog.Handler] that writes each record as one
// JSON object — the shape of [log/slog.NewJSONHandler]: time, level, msg,
// then the attributes — and publishes it on a subject (log.<NAME> in bgkit).
// It is safe for concurrent use and its WithAttrs and WithGroup handlers
// share one publisher. [Handler.Close] publishes an end-of-log marker and
// flushes, so the reader knows it has seen every record.
//
// # Parent side
//
// [Relay] subscribes to a subject, turns each JSON object back into a
// [log/slog.Record] with its original time, level, message and attributes
// (groups included, in order), adds attributes of its own (service, pid) and
// hands it to a [log/slog.Handler]. Records are queued without bound in the
// relay rather than dropped, so a slow handler never makes the server cut the
// connection. [Relay.WaitEOF] waits for the end-of-log marker.
//
// A message that is not a JSON object is relayed as a record at WARN with the
// raw text, never dropped and never a panic.
package logfwd
