package spawn

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestStopBudget(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		grace    time.Duration
		termAt   time.Time
		exitAt   time.Time
		deadline time.Time
	}{
		{"exit on its own: the grace period from the exit", time.Second, time.Time{}, now, now.Add(time.Second)},
		{"terminated: the grace period from SIGTERM", time.Second, now, now.Add(300 * time.Millisecond), now.Add(time.Second)},
		{"killed at the end: the floor after the exit", time.Second, now, now.Add(time.Second), now.Add(time.Second + killedFloor)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, cancel := newStopBudget(slog.New(slog.DiscardHandler), tc.grace, tc.termAt, tc.exitAt)
			defer cancel()
			if dl, _ := b.context().Deadline(); !dl.Equal(tc.deadline) {
				t.Errorf("deadline %v after now, want %v", dl.Sub(now), tc.deadline.Sub(now))
			}
		})
	}
}

func TestStopBudgetAwait(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	b, cancel := newStopBudget(logger, 0, time.Time{}, time.Now().Add(-time.Hour)) // spent
	defer cancel()
	done := make(chan struct{})
	close(done)
	if !b.await("something closed", "never", done) {
		t.Error("await of a closed channel with a spent budget = false, want true")
	}
	if b.await("the output pipes to close", "a process holds them", make(chan struct{})) {
		t.Error("await of an open channel with a spent budget = true")
	}
	if out := buf.String(); !strings.Contains(out, `gave up waiting for the output pipes to close`) ||
		!strings.Contains(out, "a process holds them") {
		t.Errorf("log %q does not say what it gave up on and why", out)
	}
}

func TestAgentErrKeepsSentinels(t *testing.T) {
	for _, tc := range []struct {
		code      int
		is, isNot []error
	}{
		{404, []error{ErrNotRegistered, ErrStart}, []error{ErrDuplicateName}},
		{409, []error{ErrDuplicateName}, []error{ErrNotRegistered, ErrStart}},
		{500, []error{ErrStart}, []error{ErrNotRegistered, ErrDuplicateName}},
	} {
		err := agentErr(tc.code, "the agent's message")
		if err.Error() != "the agent's message" {
			t.Errorf("%d: message %q", tc.code, err)
		}
		for _, s := range tc.is {
			if !errors.Is(err, s) {
				t.Errorf("%d: not %v", tc.code, s)
			}
		}
		for _, s := range tc.isNot {
			if errors.Is(err, s) {
				t.Errorf("%d: is %v", tc.code, s)
			}
		}
	}
}

func TestExitErrorCrossesTheWire(t *testing.T) {
	in := agentExit{PID: 7, Flushed: true, Exit: &ExitError{Name: "X", PID: 7, Code: -1, Signal: "SIGKILL",
		Requested: true, Killed: true, StderrTail: "bye"}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out agentExit
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Exit == nil || *out.Exit != *in.Exit || !out.Flushed || out.PID != 7 {
		t.Fatalf("%s came back as %+v", data, out)
	}
	if got := out.Exit.Error(); got != "X (pid 7): killed by SIGKILL after the grace period; stderr: bye" {
		t.Errorf("Error() = %q", got)
	}
}
