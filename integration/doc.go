// Package integration holds bgkit's end-to-end tests: real child processes
// on a real (embedded or standalone) NATS server, driven only through the
// public API, as a user would.
package integration
