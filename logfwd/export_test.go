package logfwd

// Queued is the number of records the relay holds and has not yet handed
// to its handler.
func (r *Relay) Queued() int64 { return r.qlen.Load() }

// Closing tells whether Close has begun.
func (r *Relay) Closing() bool { return r.closing.Load() }

// QueuedBytes is the record data the relay counts as queued.
func (r *Relay) QueuedBytes() int64 { return r.qbytes.Load() }
