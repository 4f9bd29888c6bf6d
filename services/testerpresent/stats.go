package testerpresent

import (
	"slices"
	"sync"
	"time"
)

// Stats is the answer of the stats method.
type Stats struct {
	// Sent counts requests handed to the transport: frames put on the CAN
	// bus, or diagnostic messages the DoIP entity acknowledged.
	Sent uint64 `json:"sent" doc:"Requests sent: CAN frames put on the bus, or DoIP messages the entity acknowledged."`
	// Errors counts periods that failed: the request could not be sent,
	// or (with suppress_response false) its reply was missing or negative.
	Errors uint64 `json:"errors" doc:"Periods that failed: not sent, or (suppress_response false) reply missing or negative."`
	// Skipped counts periods passed during a stall without a request of
	// their own: after a stall one request goes out at once, late, for the
	// last deadline passed; those before it are not made up.
	Skipped uint64 `json:"skipped" doc:"Periods passed during a stall without a request of their own (one request goes out at once after a stall; the others are not made up)."`
	// LatenessP50US, LatenessP99US are percentiles of how late requests
	// went out after their deadlines, over the last 8192 requests, in µs;
	// LatenessMaxUS is the largest since the service was created.
	LatenessP50US int64 `json:"lateness_p50_us" doc:"Median lateness of the last 8192 requests after their deadlines, in µs."`
	LatenessP99US int64 `json:"lateness_p99_us" doc:"99th percentile of the lateness of the last 8192 requests, in µs."`
	LatenessMaxUS int64 `json:"lateness_max_us" doc:"Largest lateness since the service started, in µs."`
	// LastError is the message of the last error, "" if none.
	LastError string `json:"last_error" doc:"Message of the last error; empty if none."`
	// IntervalMS is the current interval.
	IntervalMS int `json:"interval_ms" doc:"Current period of the requests, in ms."`
	// Running says whether requests are being sent.
	Running bool `json:"running" doc:"Whether requests are being sent."`
}

// latencyWindow is how many lateness samples the percentiles cover.
const latencyWindow = 8192

// latencies keeps the last latencyWindow lateness samples and the maximum.
type latencies struct {
	mu   sync.Mutex
	buf  []time.Duration
	next int
	max  time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < latencyWindow {
		l.buf = append(l.buf, d)
	} else {
		l.buf[l.next] = d
		l.next = (l.next + 1) % latencyWindow
	}
	l.max = max(l.max, d)
}

// percentiles returns the 50th and 99th percentiles (nearest rank) of the
// window and the maximum; zeros when there are no samples.
func (l *latencies) percentiles() (p50, p99, maximum time.Duration) {
	l.mu.Lock()
	s := slices.Clone(l.buf)
	maximum = l.max
	l.mu.Unlock()
	if len(s) == 0 {
		return 0, 0, maximum
	}
	slices.Sort(s)
	return rank(s, 50), rank(s, 99), maximum
}

// rank is the nearest-rank percentile p of sorted s.
func rank(s []time.Duration, p int) time.Duration {
	i := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(i-1, 0)]
}
