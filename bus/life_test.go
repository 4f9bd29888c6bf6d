package bus

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestLifeEventAppendJSON: AppendJSON writes what encoding/json writes.
func TestLifeEventAppendJSON(t *testing.T) {
	now := time.Date(2026, 12, 1, 20, 16, 22, 123456789, time.UTC)
	for _, ev := range []LifeEvent{
		{},
		{Event: LifeStarted, Name: "ECHO", ID: "abc", PID: 42, Host: "rig-1", Time: now},
		{Event: LifeExited, Name: "ECHO", PID: 42, Time: now.Truncate(time.Second), Status: -1, Signal: "SIGKILL",
			Error: "killed by SIGKILL\n\"tail\" <b>&</b>\t\x00\x1f\x7f \u2028\u2029 é \xff\xfe end\\"},
		{Event: LifeRestarting, Name: "X", Time: now.In(time.FixedZone("CET", 3600)), Attempt: 3, BackoffMS: 1500, Error: "exit status 4"},
	} {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzLifeEventAppendJSON(f *testing.F) {
	f.Add("exited", "ECHO", "id", 42, "host", int64(1796157249960331610), -1, "SIGKILL", "a\"b\\c\n<&>\u2028\xff", 2, int64(250))
	f.Fuzz(func(t *testing.T, event, name, id string, pid int, host string, ns int64, status int, sig, msg string, attempt int, backoff int64) {
		ev := LifeEvent{Event: event, Name: name, ID: id, PID: pid, Host: host, Time: time.Unix(0, ns).UTC(),
			Status: status, Signal: sig, Error: msg, Attempt: attempt, BackoffMS: backoff}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Skip(err) // a time outside encoding/json's years
		}
		if got := ev.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
	})
}
