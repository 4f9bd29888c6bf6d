package can

import (
	"log/slog"

	"github.com/nats-io/nats.go"
)

// Option configures a bus opened with Open, NewVirtual or DialSocketCAN.
type Option func(*options)

type options struct {
	filters []Filter
	nc      *nats.Conn
	logger  *slog.Logger
	queue   int
}

// defaultQueue is the receive queue length of a bus, in frames.
const defaultQueue = 4096

func buildOptions(opts []Option) options {
	o := options{queue: defaultQueue}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}

// WithFilters sets the node's acceptance filters: it receives only the
// frames that pass at least one of them (kernel semantics, see Filter).
// Without filters a node receives every frame.
func WithFilters(filters ...Filter) Option {
	return func(o *options) { o.filters = append([]Filter(nil), filters...) }
}

// WithNATS sets the NATS connection a virtual bus opened with Open uses.
// The caller keeps ownership: closing the bus does not close nc.
func WithNATS(nc *nats.Conn) Option {
	return func(o *options) { o.nc = nc }
}

// WithLogger sets the logger for conditions that are not returned as
// errors, such as a malformed message on a virtual bus. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithQueueSize sets how many received frames a node buffers before
// its transport must hold back (default 4096).
func WithQueueSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.queue = n
		}
	}
}
