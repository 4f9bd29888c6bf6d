package spawn

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/bus"
)

// hostname is this machine's name, for lifecycle events.
var hostname, _ = os.Hostname()

// publishLife publishes ev on life.<ev.Name>. It fills in the time and
// host when they are unset. A failure is logged, never returned: an event
// nobody can receive must not change what the parent does.
func publishLife(nc *nats.Conn, logger *slog.Logger, ev bus.LifeEvent) {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if ev.Host == "" {
		ev.Host = hostname
	}
	if err := nc.Publish(bus.LifeSubject(ev.Name), ev.AppendJSON(make([]byte, 0, 256))); err != nil {
		logger.Debug("publish lifecycle event", "event", ev.Event, "err", err)
	}
}

// waitStatus decodes what cmd.Wait returned: the exit code (-1 for a
// signal) and the signal's name ("SIGKILL"), if a signal ended it.
func waitStatus(err error) (code int, sig syscall.Signal, signaled bool) {
	if err == nil {
		return 0, 0, false
	}
	var xe *exec.ExitError
	if !errors.As(err, &xe) {
		return -1, 0, false
	}
	if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal(), true
	}
	return xe.ExitCode(), 0, false
}

// exitedEvent is the exited event of an instance that ended with err (nil
// or an *ExitError).
func exitedEvent(name, id string, pid int, err error) bus.LifeEvent {
	ev := bus.LifeEvent{Event: bus.LifeExited, Name: name, ID: id, PID: pid}
	var ee *ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ev.Status, ev.Signal, ev.Error = ee.Code, ee.Signal, ee.status()
	default:
		ev.Status, ev.Error = -1, err.Error()
	}
	return ev
}
