package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/spawn"
)

const upExamples = `  bgkit up examples/demo.yaml              # embedded bus, services of the rig
  bgkit up --server nats://rig-box:4222 rig.yaml
  bgkit up                                 # just the bus, for tests that spawn their own
`

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("up", "[rig.yaml] [flags]", upExamples, stdout)
	var bf busFlags
	bf.registerUp(fs)
	var lf logFlags
	lf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("up takes at most one rig file, got %d arguments", len(pos))
	}
	logger, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	r := &rig{}
	if len(pos) == 1 {
		if r, err = loadRig(pos[0]); err != nil {
			return err
		}
	}
	b, err := openBus(ctx, &bf, logger, bf.server != "")
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(stdout, "NATS_URL=%s\n", b.Credentials().ShareURL())
	return serveRig(ctx, b, r, logger)
}

// openBus starts the embedded bus, or joins an external one when external.
func openBus(ctx context.Context, bf *busFlags, logger *slog.Logger, external bool) (*bus.Bus, error) {
	if external {
		return bf.connect(ctx, logger)
	}
	return bus.Start(ctx, bus.WithLogger(logger), bus.WithClientName("bgkit up"))
}

// defaultGrace is a service's grace when its rig entry names none
// (spawn.WithGrace's default).
const defaultGrace = 5 * time.Second

// serveRig spawns the rig's services in order, waits for ctx to end, then
// stops them in reverse order.
func serveRig(ctx context.Context, b *bus.Bus, r *rig, logger *slog.Logger) error {
	// Keep the recent records of every service for `bgkit logs`, from
	// before the first service starts until the last has stopped.
	if l, err := newLogRing().listen(b.LogConn()); err != nil {
		logger.Warn("bgkit logs will not show records from before it starts", "err", err)
	} else {
		rctx, stopRing := context.WithCancel(context.Background())
		ringDone := make(chan struct{})
		go func() {
			defer close(ringDone)
			l.Run(rctx)
		}()
		defer func() {
			stopRing()
			<-ringDone
		}()
	}
	var handles []*spawn.Handle
	var graces []time.Duration
	// One after the other, the last started first, each within its own
	// grace (Terminate kills it then) and 5 s more for its exit to be
	// seen: however long those before it took (one budget for all, the
	// largest grace + 5 s, left the first started too little).
	stopAll := func() {
		for i := len(handles) - 1; i >= 0; i-- {
			h := handles[i]
			sctx, cancel := context.WithTimeout(context.Background(), graces[i]+5*time.Second)
			if err := h.Terminate(sctx); err != nil {
				logger.Warn("service did not stop cleanly", "service", h.ServiceName(), "err", err)
			}
			cancel()
		}
	}
	for _, s := range r.services {
		opts := []spawn.Option{spawn.WithLogger(logger)}
		if s.name != "" {
			opts = append(opts, spawn.WithName(s.name))
		}
		if s.grace > 0 {
			opts = append(opts, spawn.WithGrace(s.grace))
		}
		if s.agent != "" {
			opts = append(opts, spawn.OnAgent(s.agent))
		}
		h, err := spawn.RunKind(ctx, b, s.kind, s.args, opts...)
		if err != nil {
			if ctx.Err() != nil {
				// Ctrl-C or SIGTERM while starting: a stop, not a failure.
				logger.Info("stopping rig", "service", s.name, "kind", s.kind, "reason", "interrupted while starting")
				stopAll()
				logger.Info("rig stopped")
				return nil
			}
			stopAll()
			if r.file != "" {
				return fmt.Errorf("%s:%d: %w", r.file, s.line, err)
			}
			return err
		}
		handles = append(handles, h)
		graces = append(graces, cmp.Or(s.grace, defaultGrace))
		logger.Info("service started", "service", h.ServiceName(), "kind", s.kind, "pid", h.PID())
	}
	names := make([]string, len(handles))
	for i, h := range handles {
		names[i] = h.ServiceName()
	}
	logger.Info("rig up: Ctrl-C stops it", "url", b.URL(), "services", strings.Join(names, ","))
	<-ctx.Done()
	logger.Info("stopping rig")
	stopAll()
	logger.Info("rig stopped")
	return nil
}

const runExamples = `  bgkit run tester-present --args '{"bus":"virtual:bus0","interval_ms":500,"autostart":true}'
  bgkit run ecu-sim --name ECU_REAR --args '{"rx_id":2016,"tx_id":2024}'
  NATS_URL=nats://... bgkit run can-recorder --args '{"path":"bus0.log"}'
`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "<kind> [flags]", runExamples, stdout)
	name := fs.String("name", "", "service name (default from the kind)")
	argsJSON := fs.String("args", "{}", "the service's arguments as JSON")
	grace := fs.Duration("grace", defaultGrace, "grace period when stopping")
	var bf busFlags
	bf.register(fs)
	var lf logFlags
	lf.register(fs)
	// Accept the kind before or after the flags.
	var kind string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		kind, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if kind == "" && len(rest) > 0 {
		// The kind after some flags: the flags after it count too.
		kind = rest[0]
		if err := parse(fs, rest[1:]); err != nil {
			return err
		}
		rest = fs.Args()
	}
	if kind == "" {
		return usagef("run needs a kind: one of %s", strings.Join(spawn.Kinds(), ", "))
	}
	if len(rest) > 0 {
		// Not ignored: a JSON given without --args would run the defaults,
		// and flags after it would not be parsed.
		return usagef("run takes one kind and flags, got %q too (arguments go in --args '{...}', flags before them)", rest)
	}
	if !json.Valid([]byte(*argsJSON)) {
		return usagef("--args is not valid JSON: %s", *argsJSON)
	}
	if err := spawn.CheckKindArgs(kind, json.RawMessage(*argsJSON)); err != nil {
		return usagef("%s: %v", kind, err)
	}
	logger, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	b, err := openBus(ctx, &bf, logger, bf.url() != "")
	if err != nil {
		return err
	}
	defer b.Close()
	if b.Embedded() {
		fmt.Fprintf(stdout, "NATS_URL=%s\n", b.Credentials().ShareURL())
	}
	return serveRig(ctx, b, &rig{services: []rigService{{kind: kind, name: *name, args: json.RawMessage(*argsJSON), grace: *grace}}}, logger)
}
