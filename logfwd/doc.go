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
// hands it to a [log/slog.Handler]. [Relay.WaitEOF] waits for the
// end-of-log marker.
//
// # Flow control
//
// A relay's memory is bounded: it queues at most [DefaultQueueRecords]
// records and [DefaultQueueBytes] bytes for a slow handler (set others with
// [NewRelayWith] and [RelayOptions]). It acknowledges every [AckEvery]-th
// record (and each [AckBytes] handled) to the publisher once handled, and
// a [Handler] more than [Window] records or [WindowBytes] bytes ahead of
// the acknowledgements waits: a parent whose handler is slow slows the
// child down, and loses nothing, large records included. A handler that gets no
// acknowledgement for [StallWait] goes on without waiting (the parent's
// handler is stuck, or no relay listens); a relay that then finds its
// queue full drops records, counts them ([Relay.Dropped]) and hands the
// handler a WARN record with the count in their place. A relay whose
// subscription ends without Close (the connection closed) says so with an
// ERROR record. No record is lost without a record saying so.
//
// # Across a failover
//
// Each record's reply subject is an inbox of the publisher followed by the
// record's sequence number (1, 2, …; no header to encode or parse): under
// its connection's inbox prefix, or under a short prefix of its own
// ([NewHandlerInbox]; a bgkit child is granted one with its credentials),
// which both parsers on the way walk for every record. A relay
// puts records in that order and drops duplicates. The publisher keeps the
// last 65,536 records (8 MiB) and [Handler.Resend] publishes again those not
// yet acknowledged: a bgkit child calls it when its connection reconnects.
// A relay that sees a gap, or whose own connection reconnected (the
// publisher's resend may have come before its subscription was back), asks
// the publisher on its inbox (learned from its first record, or given
// beforehand: [RelayOptions].Inbox, so that records lost before the first
// one that came are asked for too) to resend from the first number it misses,
// every 250 ms, for 3 s; then it reports the records that never came as
// lost, with a WARN record.
//
// # While the bus is down
//
// A record the handler cannot publish (the connection is closed, or its
// reconnect buffer is full) goes to stderr as a JSON line; [DecodeLine]
// recognises such a line, and a bgkit parent relays it as the record it
// was.
//
// # A record too large for one message
//
// A record larger than the server's max payload (1 MiB by default: a
// dump logged as an attribute) is cut to fit before it is published: its
// time, level and message stay, its attributes while they fit (the small
// ones first, a long string cut and ending in "…", a group cut inside),
// and it gains record_bytes (its size), record_cut_bytes (how much went)
// and, when attributes were left out, attrs_cut (their keys). It is not
// counted as dropped.
//
// A message that is not a JSON object is relayed as a record at WARN with the
// raw text, never dropped and never a panic.
package logfwd
