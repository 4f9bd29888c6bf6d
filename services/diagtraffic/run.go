package diagtraffic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds"
)

// Reasons a run ends, in the run_ended event and Stats.Ended.
const (
	ReasonCount    = "count"    // every request sent its count
	ReasonDuration = "duration" // duration_ms passed
	ReasonStopped  = "stopped"  // the stop method
	ReasonShutdown = "shutdown" // the service is shutting down
)

// TopicRunEnded is the topic of the event of a run's end (service.Emit,
// on evt.<NAME>.run_ended), which carries a RunEnded.
const TopicRunEnded = "run_ended"

// LogStopped is the message of the record logged at Shutdown.
const LogStopped = "diagnostic traffic shut down"

// RunEnded is the value of the run_ended event: why, how long, and the
// totals of the run's Stats.
type RunEnded struct {
	Reason     string `json:"reason" doc:"Why the run ended: count, duration, stopped or shutdown."`
	DurationMS int64  `json:"duration_ms" doc:"Length of the run, in ms."`
	Totals
}

// Totals are the counters of a request, or of all of them.
type Totals struct {
	Sent uint64 `json:"sent" doc:"Requests sent."`
	// OK counts the replies as expected; Mismatched the others (a
	// positive response that does not start with expect, or a negative
	// one where a positive one was expected).
	OK         uint64 `json:"ok" doc:"Replies as expected."`
	Mismatched uint64 `json:"mismatched" doc:"Replies not as expected (not starting with expect, or negative where a positive one was expected)."`
	// NRC counts the negative responses, expected or not.
	NRC uint64 `json:"nrc" doc:"Negative responses, expected or not."`
	// Timeouts counts the requests without a reply in time, Errors those
	// the transport could not send.
	Timeouts uint64 `json:"timeouts" doc:"Requests without a reply in time."`
	Errors   uint64 `json:"errors" doc:"Requests the transport could not send."`
}

func (t *Totals) add(o Totals) {
	t.Sent += o.Sent
	t.OK += o.OK
	t.Mismatched += o.Mismatched
	t.NRC += o.NRC
	t.Timeouts += o.Timeouts
	t.Errors += o.Errors
}

// RequestStats are the counters of one request of the script.
type RequestStats struct {
	Name string `json:"name" doc:"Name of the request."`
	Totals
	// NRCs counts the negative responses by code in hex: {"31": 2}.
	NRCs map[string]uint64 `json:"nrcs" doc:"Negative responses by code in hex, e.g. {\"31\": 2}."`
	// Latency of the replies, from the send to the (final) reply, over the
	// last 4096: percentiles and the maximum since the start, in µs.
	LatencyP50US int64 `json:"latency_p50_us" doc:"Median time from send to (final) reply over the last 4096, in µs."`
	LatencyP99US int64 `json:"latency_p99_us" doc:"99th percentile of the reply time over the last 4096, in µs."`
	LatencyMaxUS int64 `json:"latency_max_us" doc:"Longest reply time since the start, in µs."`
	// LastReply is the last reply in hex; LastError the last failure.
	LastReply string `json:"last_reply,omitempty" doc:"Last reply in hex."`
	LastError string `json:"last_error,omitempty" doc:"Last failure."`
}

// Stats is the answer of the stats method.
type Stats struct {
	Running bool `json:"running" doc:"Whether a run is going on."`
	// Ended is the reason the last run ended ("" while running or before
	// the first run).
	Ended string `json:"ended,omitempty" doc:"Why the last run ended (count, duration, stopped, shutdown); absent while running or before the first run."`
	Totals
	Requests []RequestStats `json:"requests" doc:"Counters and latencies per request of the script."`
}

// latencyWindow is how many latencies the percentiles cover.
const latencyWindow = 4096

// requestStats counts one request; its own mutex keeps stats readable
// while the run goes on.
type requestStats struct {
	name string

	mu      sync.Mutex
	t       Totals
	nrcs    [256]uint64
	lat     []time.Duration
	next    int
	maxLat  time.Duration
	last    []byte
	lastErr string
}

func (r *requestStats) record(resp []byte, err error, lat time.Duration, expect []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.t.Sent++
	var nr *uds.NegativeResponseError
	switch {
	case errors.As(err, &nr):
		resp = []byte{uds.NegativeResponseSID, byte(nr.SID), byte(nr.NRC)}
		r.t.NRC++
		r.nrcs[nr.NRC]++
	case errors.Is(err, uds.ErrTimeout):
		r.t.Timeouts++
		r.lastErr = err.Error()
		return
	case err != nil:
		r.t.Errors++
		r.lastErr = err.Error()
		return
	}
	if len(r.lat) < latencyWindow {
		r.lat = append(r.lat, lat)
	} else {
		r.lat[r.next] = lat
		r.next = (r.next + 1) % latencyWindow
	}
	r.maxLat = max(r.maxLat, lat)
	r.last = append(r.last[:0], resp...)
	positive := len(resp) == 0 || resp[0] != uds.NegativeResponseSID // nil: a suppressed positive response
	switch {
	case expect == nil && positive, expect != nil && bytes.HasPrefix(resp, expect):
		r.t.OK++
	default:
		r.t.Mismatched++
		r.lastErr = fmt.Sprintf("reply % X, want %s", resp, want(expect))
	}
}

func want(expect []byte) string {
	if expect == nil {
		return "a positive response"
	}
	return fmt.Sprintf("% X…", expect)
}

func (r *requestStats) snapshot() RequestStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := RequestStats{Name: r.name, Totals: r.t, NRCs: make(map[string]uint64), LastError: r.lastErr,
		LatencyMaxUS: r.maxLat.Microseconds()}
	for i, n := range r.nrcs {
		if n > 0 {
			out.NRCs[fmt.Sprintf("%02X", i)] = n
		}
	}
	if len(r.last) > 0 {
		out.LastReply = fmt.Sprintf("% X", r.last)
	}
	if len(r.lat) > 0 {
		s := slices.Clone(r.lat)
		slices.Sort(s)
		out.LatencyP50US = rank(s, 50).Microseconds()
		out.LatencyP99US = rank(s, 99).Microseconds()
	}
	return out
}

// rank is the nearest-rank percentile p of sorted s.
func rank(s []time.Duration, p int) time.Duration {
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)]
}

func (s *DiagTrafficService) snapshot() Stats {
	s.mu.Lock()
	st := Stats{Running: s.cancel != nil, Ended: s.ended}
	s.mu.Unlock()
	st.Requests = make([]RequestStats, len(s.stats))
	for i, r := range s.stats {
		st.Requests[i] = r.snapshot()
		st.Totals.add(st.Requests[i].Totals)
	}
	return st
}

// run sends the script until ctx ends or every counted request is done,
// one request at a time, each at its absolute deadlines start + k·period.
// A request whose deadline passed by a whole period or more goes out once,
// and its schedule starts again from now: a stall never causes a burst.
func (s *DiagTrafficService) run(ctx context.Context, c *uds.Client) string {
	start := time.Now()
	next := make([]time.Time, len(s.script))
	left := make([]int, len(s.script))
	for i, r := range s.script {
		next[i], left[i] = start, r.count
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		i := -1
		for j := range s.script {
			if s.script[j].count > 0 && left[j] == 0 {
				continue
			}
			if i < 0 || next[j].Before(next[i]) {
				i = j
			}
		}
		if i < 0 {
			return ReasonCount
		}
		timer.Reset(time.Until(next[i]))
		select {
		case <-ctx.Done():
			return s.why(ctx)
		case <-timer.C:
		}
		r := s.script[i]
		sent := time.Now()
		resp, err := c.Do(ctx, r.data)
		if ctx.Err() != nil {
			return s.why(ctx) // cut off: not counted
		}
		s.stats[i].record(resp, err, time.Since(sent), r.expect)
		left[i]--
		next[i] = next[i].Add(r.period)
		if now := time.Now(); now.Sub(next[i]) >= r.period {
			next[i] = now
		}
	}
}

// why tells why ctx ended.
func (s *DiagTrafficService) why(ctx context.Context) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped != "":
		return s.stopped
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ReasonDuration
	}
	return ReasonStopped
}

// end records the end of a run and emits run_ended.
func (s *DiagTrafficService) end(evCtx context.Context, reason string) {
	st := s.snapshot()
	s.mu.Lock()
	d := time.Since(s.started)
	s.cancel, s.done, s.ended = nil, nil, reason
	s.mu.Unlock()
	ev := RunEnded{Reason: reason, DurationMS: d.Milliseconds(), Totals: st.Totals}
	s.log.Info("diagnostic traffic ended", "reason", reason, "sent", st.Sent, "ok", st.OK,
		"mismatched", st.Mismatched, "nrc", st.NRC, "timeouts", st.Timeouts, "errors", st.Errors)
	if evCtx == nil {
		return
	}
	if err := service.Emit(evCtx, TopicRunEnded, ev); err != nil {
		s.log.Debug("diag-traffic: event not sent", "err", err)
	}
}
