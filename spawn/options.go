package spawn

import (
	"context"
	"log/slog"
	"time"
)

// Option configures Run and RunKind.
type Option func(*options)

type options struct {
	name         string
	logger       *slog.Logger
	grace        time.Duration
	startTimeout time.Duration
	level        *slog.Level
	env          []string
	restart      RestartPolicy
	agent        string // spawn on this agent instead of locally
	pool         *Pool  // take a warm child from it (WithPool)
}

// WithName runs the service under name instead of the one derived from its
// type, so one type can run as several instances.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithLogger sets where the child's records, its stderr lines and exit
// reports go (default slog.Default()). Records keep their time, level,
// message and attributes and gain service=<NAME> and pid=<PID>.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithGrace sets how long Terminate waits after SIGTERM before it kills the
// process group (default 5 s). It is one budget for the whole stop: the
// child ends the ctx of calls in flight and waits for them, runs Shutdown
// and flushes its logs within it, and the parent's waits after the exit
// (status pipe, end of log, output pipes) end with it too.
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithStartTimeout bounds the wait for the child to serve (default 30 s).
func WithStartTimeout(d time.Duration) Option { return func(o *options) { o.startTimeout = d } }

// WithLogLevel sets the lowest level the child publishes. By default it is
// the lowest level the parent's logger has enabled.
func WithLogLevel(l slog.Level) Option { return func(o *options) { o.level = &l } }

// WithEnv adds KEY=VALUE entries to the child's environment.
//
// A child inherits the parent's environment. Unless that environment or
// WithEnv sets GOMAXPROCS, a child serves with one P (runtime.GOMAXPROCS(1)
// 50 ms after it is ready, a pause of the world that the start and the
// first calls do not wait for; its start has them all, and its own
// children's environment is not changed): background services mostly wait on the bus,
// and one P spares every hand-off between goroutines a wake-up of another
// thread (measured on a 2-core machine: call p50 about 10 % lower, calls/s
// higher). A service that computes in parallel asks for more, e.g.
// WithEnv("GOMAXPROCS=4").
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

func buildOptions(opts []Option) options {
	o := options{grace: 5 * time.Second, startTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.level == nil {
		l := slog.LevelError
		for _, c := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
			if o.logger.Enabled(context.Background(), c) {
				l = c
				break
			}
		}
		o.level = &l
	}
	return o
}
