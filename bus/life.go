package bus

import "time"

// Lifecycle events published on life.NAME by the parent or agent of an
// instance.
const (
	LifeStarted    = "started"
	LifeExited     = "exited"
	LifeRestarting = "restarting"
)

// LifeEvent is the payload on life.NAME.
type LifeEvent struct {
	Event string    `json:"event"`          // LifeStarted, LifeExited or LifeRestarting
	Name  string    `json:"name"`           // the service name
	ID    string    `json:"id,omitempty"`   // the instance id ($SRV id)
	PID   int       `json:"pid,omitempty"`  // its process id, on Host
	Host  string    `json:"host,omitempty"` // the machine it runs on
	Time  time.Time `json:"time"`
	// Status is the exit status (exited): the code, or -1 for a signal.
	Status int `json:"status"`
	// Signal names the signal that killed it (exited), if any.
	Signal string `json:"signal,omitempty"`
	// Error describes a failed exit or the cause of a restart.
	Error string `json:"error,omitempty"`
	// Attempt and BackoffMS describe a restart (restarting).
	Attempt   int   `json:"attempt,omitempty"`
	BackoffMS int64 `json:"backoff_ms,omitempty"`
}
