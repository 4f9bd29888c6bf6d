package ecuwatchdog

import (
	"context"
	"errors"
	"time"

	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/uds"
)

// Topics of the events of the watchdog (service.Emit, on
// evt.<NAME>.<topic>); each carries an Incident.
const (
	// TopicCrashed: CrashAfter probes in a row got no reply.
	TopicCrashed = "ecu_crashed"
	// TopicReset: the session probe saw the ECU fall back from a
	// non-default session to the default one.
	TopicReset = "ecu_reset"
	// TopicBack: the first reply after ecu_crashed.
	TopicBack = "ecu_back"
)

// States of Status.State.
const (
	StateWaiting = "waiting" // no reply yet
	StateOK      = "ok"      // the last probe, or one of the last CrashAfter, got a reply
	StateCrashed = "crashed" // CrashAfter probes in a row got none
)

// LogStopped is the message of the record logged at Shutdown, with the
// counters.
const LogStopped = "ECU watchdog stopped"

// Status is the answer of the status method.
type Status struct {
	State   string `json:"state" doc:"waiting (no reply yet), ok, or crashed (crash_after probes in a row got no reply)."`
	Probes  uint64 `json:"probes" doc:"Probes sent."`
	Replies uint64 `json:"replies" doc:"Probes answered, positively or negatively."` // positive or negative: the ECU answered
	Missed  uint64 `json:"missed" doc:"Probes without a reply, in all."`             // probes without a reply, in all
	// Consecutive counts the probes without a reply since the last reply.
	Consecutive int    `json:"consecutive_missed" doc:"Probes without a reply since the last reply."`
	Crashes     uint64 `json:"crashes" doc:"Crashes seen (ecu_crashed events)."`
	Resets      uint64 `json:"resets" doc:"Resets seen by the session probe (ecu_reset events)."`
	// Session is the last session read by the session probe (0: unknown).
	Session      uint8     `json:"session,omitempty" doc:"Last session read by the session probe (1 default, 2 programming, 3 extended); absent: unknown."`
	LastReply    time.Time `json:"last_reply,omitzero" doc:"Time of the last reply."`
	LastError    string    `json:"last_error,omitempty" doc:"Error of the last failed probe."`
	LastIncident *Incident `json:"last_incident,omitempty" doc:"The last crash, reset or return."`
}

// Incident is the value of the events and of Status.LastIncident.
type Incident struct {
	// Kind is "crashed", "reset" or "back".
	Kind string `json:"kind" doc:"crashed, reset or back."`
	// Time is when the watchdog saw it: the probe that missed for the
	// CrashAfter-th time, or the probe that read the default session.
	Time time.Time `json:"time" doc:"When the watchdog saw it: the probe that missed for the crash_after-th time, or that read the default session."`
	// Missed is the number of probes in a row without a reply (crashed,
	// back) and Error the last probe's error (crashed).
	Missed int    `json:"missed,omitempty" doc:"Probes in a row without a reply (crashed, back)."`
	Error  string `json:"error,omitempty" doc:"Error of the last probe (crashed)."`
	// LastReply is the time of the last reply before a crash.
	LastReply time.Time `json:"last_reply,omitzero" doc:"Time of the last reply before the crash."`
	// From and To are the sessions before and after a reset.
	From uint8 `json:"from,omitempty" doc:"Session before the reset."`
	To   uint8 `json:"to,omitempty" doc:"Session after the reset."`
	// DownMS is how long the ECU did not answer (back).
	DownMS int64 `json:"down_ms,omitempty" doc:"How long the ECU did not answer, in ms (back)."`
	// Frames are the last frames seen on the CAN bus, oldest first: the
	// black box (crashed, reset).
	Frames []Frame `json:"frames,omitempty" doc:"Black box: the last frames of the CAN bus, oldest first (crashed, reset)."`
}

// prober sends one probe and reports the session the ECU is in (0 when the
// probe does not tell), or why no reply came.
type prober interface {
	probe(ctx context.Context) (session uint8, err error)
}

// run probes every period at absolute deadlines until ctx ends.
func (s *ECUWatchdogService) run(ctx context.Context, p prober) {
	period := time.Duration(s.args.PeriodMS) * time.Millisecond
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		// The probe is bounded by its transport: timeout_ms for the reply,
		// the DoIP ACK and dial timeouts before it.
		session, err := p.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		s.observe(ctx, time.Now(), session, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observe counts one probe's outcome and emits the events it makes.
func (s *ECUWatchdogService) observe(ctx context.Context, now time.Time, session uint8, err error) {
	// A negative response is a reply: the ECU is alive. So is a reply
	// that is not what the probe asked (kept as the last error).
	var nr *uds.NegativeResponseError
	bad := err != nil && malformed(err)
	replied := err == nil || errors.As(err, &nr) || bad

	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	st.Probes++
	if bad {
		st.LastError = err.Error()
	}
	if !replied {
		st.Missed++
		st.Consecutive++
		st.LastError = err.Error()
		if st.Consecutive == 1 {
			s.streak = now
		}
		if st.Consecutive == s.args.CrashAfter {
			st.State = StateCrashed
			st.Crashes++
			s.lastSes = 0 // it comes back as a new ECU
			s.incident(ctx, TopicCrashed, Incident{Kind: "crashed", Time: now, Missed: st.Consecutive,
				Error: st.LastError, LastReply: st.LastReply})
			s.log.Warn("ECU crashed: no reply", "missed", st.Consecutive, "err", err, "last_reply", st.LastReply)
		}
		return
	}
	st.Replies++
	st.LastReply = now
	if st.State == StateCrashed {
		s.incident(ctx, TopicBack, Incident{Kind: "back", Time: now, Missed: st.Consecutive,
			DownMS: now.Sub(s.streak).Milliseconds()})
		s.log.Info("ECU answers again", "missed", st.Consecutive)
	}
	st.State, st.Consecutive = StateOK, 0
	if session == 0 {
		return
	}
	if s.lastSes != 0 && s.lastSes != byte(uds.DefaultSession) && session == byte(uds.DefaultSession) {
		st.Resets++
		s.incident(ctx, TopicReset, Incident{Kind: "reset", Time: now, From: s.lastSes, To: session})
		s.log.Warn("ECU reset: back in the default session", "from", s.lastSes)
	}
	s.lastSes, st.Session = session, session
}

// incident records inc with the black box and emits it on topic; s.mu is
// held, which keeps the events in order.
func (s *ECUWatchdogService) incident(ctx context.Context, topic string, inc Incident) {
	if s.box != nil && inc.Kind != "back" {
		inc.Frames = s.box.snapshot()
	}
	s.st.LastIncident = &inc
	if err := service.Emit(ctx, topic, inc); err != nil {
		s.log.Debug("ecu-watchdog: event not sent", "topic", topic, "err", err)
	}
}
