// Package embeddednats runs a nats-server inside the current process, locked
// down for one test rig: it listens on 127.0.0.1 only, on a random port, and
// accepts only credentials made fresh for this run.
//
// # Credentials
//
// The server starts with one administrator user (full permissions) whose
// random password lives only in this process's memory. Each spawned service
// gets its own user from [Server.AddUser], scoped to the subjects it may use;
// [Server.RemoveUser] revokes it. Users are checked by a custom authenticator,
// so adding one does not reload the server.
//
// # Logging
//
// The server logs nothing unless [Options.Logger] is set; its notices, warnings
// and errors then go to that [log/slog.Logger].
package embeddednats
