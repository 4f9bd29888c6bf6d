package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/can/dbc"
)

const canUsage = `Usage: bgkit can <dump|send> ...

  bgkit can dump [--dbc F] [-n N] BUS   print the frames of a bus, one candump -L line each,
                                        with the signals of a DBC file
  bgkit can send BUS FRAME              send one frame in cansend syntax

BUS is "virtual:NAME" (the virtual bus of a rig, through --server or
$NATS_URL) or "socketcan:IFACE".

Examples:
  bgkit can dump virtual:bus0
  bgkit can dump --dbc examples/car.dbc virtual:bus0
  bgkit can send virtual:bus0 7DF#0201050000000000
  bgkit can send socketcan:can0 123##1DEADBEEF
`

const canDumpExamples = `  bgkit can dump virtual:bus0
  bgkit can dump --dbc examples/car.dbc -n 10 virtual:bus0
`

const canSendExamples = `  bgkit can send virtual:bus0 123#DEADBEEF      (cansend syntax)
  bgkit can send virtual:bus0 1ABCDEF0#00     (extended)
  bgkit can send virtual:bus0 123##1DEADBEEF  (CAN FD with bit rate switch)
  bgkit can send virtual:bus0 123#R           (remote frame)
`

func runCAN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, canUsage)
		return usagef("can needs dump or send")
	}
	switch args[0] {
	case "dump":
		return runCANDump(ctx, args[1:], stdout, stderr)
	case "send":
		return runCANSend(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, canUsage)
		return errHelp
	}
	return usagef("can: unknown subcommand %q (want dump or send)", args[0])
}

// openCAN opens the bus named by spec: a virtual bus through the NATS bus
// of the flags, or a SocketCAN interface.
func openCAN(ctx context.Context, bf *busFlags, spec string) (can.Bus, func(), error) {
	sp, err := can.ParseSpec(spec)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	if sp.Kind != "virtual" {
		node, err := can.Open(ctx, spec)
		if err != nil {
			return nil, nil, err
		}
		return node, func() { node.Close() }, nil
	}
	b, err := bf.connect(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	node, err := can.Open(ctx, spec, can.WithNATS(b.Conn()))
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return node, func() { node.Close(); b.Close() }, nil
}

func runCANDump(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("can dump", "[--dbc F] [-n N] BUS [flags]", canDumpExamples, stdout)
	dbcPath := fs.String("dbc", "", "DBC file: decode the frames of its messages")
	count := fs.Int("n", 0, "stop after N frames (default 0: until Ctrl-C)")
	var bf busFlags
	bf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("can dump takes one BUS, e.g. virtual:bus0")
	}
	if *count < 0 {
		return usagef("can dump: -n %d: want 0 or more", *count)
	}
	var db *dbc.DB
	if *dbcPath != "" {
		if db, err = dbc.Load(*dbcPath); err != nil {
			return err
		}
	}
	node, closeBus, err := openCAN(ctx, &bf, pos[0])
	if err != nil {
		return err
	}
	defer closeBus()
	iface := pos[0][strings.IndexByte(pos[0], ':')+1:]
	fmt.Fprintf(stderr, "bgkit can dump: listening on %s\n", pos[0])
	var line []byte
	for n := 0; *count == 0 || n < *count; n++ {
		r, err := node.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		line = line[:0]
		if line, err = (can.LogEntry{Time: r.Time, Interface: iface, Frame: r.Frame}).AppendText(line); err != nil {
			return err
		}
		if db != nil {
			line = appendSignals(line, db, r.Frame)
		}
		line = append(line, '\n')
		if _, err := stdout.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// appendSignals appends " :: Message(Signal: value unit, ...)" for a frame
// of a message of db, as cantools decode --single-line prints it.
func appendSignals(b []byte, db *dbc.DB, f can.Frame) []byte {
	d, ok := db.Decode(f)
	if !ok {
		return b
	}
	b = append(b, " :: "...)
	b = append(b, d.Name...)
	b = append(b, '(')
	first := true
	for _, s := range d.Message.Signals {
		v, ok := d.Signals[s.Name]
		if !ok {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = append(b, s.Name...)
		b = append(b, ": "...)
		if label, ok := s.ValueName(v); ok {
			b = append(b, label...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		if s.Unit != "" {
			b = append(b, ' ')
			b = append(b, s.Unit...)
		}
	}
	return append(b, ')')
}

func runCANSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("can send", "BUS FRAME [flags]", canSendExamples, stdout)
	var bf busFlags
	bf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("can send takes BUS and FRAME, e.g. virtual:bus0 123#DEADBEEF")
	}
	f, err := can.ParseFrame(pos[1])
	if err != nil {
		return usagef("can send: %v", err)
	}
	if err := f.Validate(); err != nil {
		return usagef("can send: %v", err)
	}
	node, closeBus, err := openCAN(ctx, &bf, pos[0])
	if err != nil {
		return err
	}
	defer closeBus()
	if err := node.Send(ctx, f); err != nil {
		return fmt.Errorf("can send: %w", err)
	}
	return nil
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, and returns the positional ones; after "--"
// every argument is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
