package spawn

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bgkitChildren lists the processes whose parent is this one and that run
// this binary as a bgkit child (not the pool's idle ones).
func bgkitChildren(t *testing.T) []string {
	out, _ := exec.Command("ps", "-o", "pid=,stat=,args=", "--ppid", strconv.Itoa(os.Getpid())).Output()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, "bgkit-child") && !strings.Contains(l, "bgkit-child pool") {
			got = append(got, strings.TrimSpace(l))
		}
	}
	return got
}

// TestInterruptAtEveryMoment: Run's ctx ending at any moment of a
// start leaves no process once Run has returned an error, the name can be
// spawned again at once, and the error is ErrStart (or ctx's).
func TestInterruptAtEveryMoment(t *testing.T) {
	b := testBus(t)
	for _, d := range []time.Duration{0, 100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
		3 * time.Millisecond, 5 * time.Millisecond, 8 * time.Millisecond, 12 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(d, cancel)
		h, err := RunKind(ctx, b, "ping", []byte(`{"port": 7}`), WithName("INT_ANY"), WithLogger(slog.New(slog.DiscardHandler)), WithGrace(time.Second))
		if err == nil {
			if err := h.Terminate(context.Background()); err != nil {
				t.Errorf("after %v: Terminate: %v", d, err)
			}
			continue
		}
		t.Logf("after %v: %v", d, err)
		if !errors.Is(err, ErrStart) && !errors.Is(err, context.Canceled) {
			t.Errorf("after %v: Run: %v, want ErrStart", d, err)
		}
		if left := bgkitChildren(t); len(left) > 0 {
			t.Errorf("after %v: children left after Run returned: %v", d, left)
		}
		h2, err := RunKind(context.Background(), b, "ping", []byte(`{"port": 7}`), WithName("INT_ANY"), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Errorf("after %v: spawn again at once: %v", d, err)
			continue
		}
		_ = h2.Terminate(context.Background())
	}
}
