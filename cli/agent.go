package cli

import (
	"context"
	"io"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/spawn"
)

const agentExamples = `  # on the machine with the CAN interfaces:
  bgkit agent --name rigbox --server nats://nats.lab:4222 --creds rig.creds
  # then, from the test machine, a rig file entry with "agent: rigbox", or in Go:
  #   spawn.RunKind(ctx, b, "can-recorder", args, spawn.OnAgent("rigbox"))
`

func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("agent", "--name NAME [flags]", agentExamples, stdout)
	name := fs.String("name", "", "the agent's name, unique on the bus (required)")
	var bf busFlags
	bf.register(fs)
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("agent needs --name")
	}
	if err := bus.ValidateName(*name); err != nil {
		return usagef("agent --name: %v", err)
	}
	logger, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	b, err := bf.connect(ctx, logger)
	if err != nil {
		return err
	}
	defer b.Close()
	return spawn.ServeAgent(ctx, b, *name, logger)
}
