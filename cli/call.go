package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/controller"
)

const callExamples = `  bgkit call ECU_SIM_SERVICE session
  bgkit call TESTER_PRESENT_SERVICE set_interval 500
  bgkit call CAN_TRAFFIC_SERVICE set_payload '{"id":"123","data":"DEADBEEF"}'
  bgkit call --stream CAN_RECORDER_SERVICE tail '{"ids":["0x7E8"]}'
  bgkit call --stream CAN_MONITOR_SERVICE watch '{"signals":["VehicleSpeed"]}'
`

func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("call", "<NAME> <method> [JSON] [flags]", callExamples, stdout)
	timeout := fs.Duration("timeout", 10*time.Second, "time budget of the call (with --stream: of the whole stream, none unless given)")
	stream := fs.Bool("stream", false, "call a streaming method: print one JSON value per line as they arrive, until the stream ends or Ctrl-C")
	var bf busFlags
	bf.register(fs)
	// Flags may come before, between and after the positional arguments
	// (a negative number is an input, not a flag).
	var pos []string
	for {
		for len(args) > 0 && len(pos) < 3 && (len(args[0]) == 0 || args[0][0] != '-' || isJSONNumber(args[0])) {
			pos, args = append(pos, args[0]), args[1:]
		}
		if err := parse(fs, args); err != nil {
			return err
		}
		if rest := fs.Args(); len(rest) == len(args) || len(rest) == 0 || len(pos) == 3 {
			pos = append(pos, rest...)
			break
		}
		args = fs.Args()
	}
	if len(pos) < 2 || len(pos) > 3 {
		return usagef("call takes NAME, method and an optional JSON input")
	}
	if err := bus.ValidateName(pos[0]); err != nil {
		return usagef("call: %v", err)
	}
	var in []byte
	if len(pos) == 3 && pos[2] != "" { // '' is no input, as for nats req
		in = []byte(pos[2])
		if !json.Valid(in) {
			return usagef("input is not valid JSON: %s (strings need quotes: '\"text\"')", pos[2])
		}
	}
	b, err := bf.connect(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer b.Close()
	c, err := controller.Connect(ctx, b, pos[0])
	if err != nil {
		return err
	}
	defer c.Close()
	if *stream {
		timed := false
		fs.Visit(func(f *flag.Flag) { timed = timed || f.Name == "timeout" })
		return callStream(ctx, c, pos[1], in, timed, *timeout, stdout)
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	out, err := c.CallRaw(cctx, pos[1], in)
	if err != nil {
		return callError(err)
	}
	var pretty bytes.Buffer
	if len(out) > 0 && json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	if len(out) > 0 {
		fmt.Fprintf(stdout, "%s\n", out)
	}
	return nil
}

// callError words a failed call or stream for the terminal: a service's
// error as "NAME.method: error CODE: message".
func callError(err error) error {
	var se *controller.ServiceError
	if errors.As(err, &se) {
		if se.Code == 400 {
			return fmt.Errorf("%s.%s: error %d: %s\n(bgkit describe %s %s shows what it takes)", se.Service, se.Method, se.Code, se.Message, se.Service, se.Method)
		}
		return fmt.Errorf("%s.%s: error %d: %s", se.Service, se.Method, se.Code, se.Message)
	}
	return err
}

// callStream prints the items of a streaming method, one JSON value per
// line, as they arrive. It returns nil when the stream ends or ctx ends
// (Ctrl-C), which stops the stream and so ends the method's ctx; the
// stream's error otherwise. timed bounds the whole stream by timeout,
// and its running out is an error.
func callStream(ctx context.Context, c *controller.Controller, method string, in []byte, timed bool, timeout time.Duration, stdout io.Writer) error {
	sctx := ctx
	if timed {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var input any // nil: no input
	if in != nil {
		input = json.RawMessage(in)
	}
	// The stream ran out its --timeout: said, and not exit 0, as timeout(1)
	// does, so that a script tells it from a stream that ended.
	timedOut := func() error {
		return fmt.Errorf("%s.%s: stream stopped: --timeout %v reached", c.Name(), method, timeout)
	}
	line := make([]byte, 0, 256)
	for item, err := range c.Stream(sctx, method, input) {
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the stream is stopped
			}
			if timed && (sctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
				return timedOut()
			}
			return callError(err)
		}
		line = appendItemLine(line[:0], item)
		if _, err := stdout.Write(line); err != nil {
			return fmt.Errorf("call %s: write: %w", method, err)
		}
	}
	return nil
}

// appendItemLine appends a stream's item and a newline: one JSON value per
// line, also when the service (not one in Go) sent it indented.
func appendItemLine(line, item []byte) []byte {
	if bytes.ContainsAny(item, "\r\n") {
		var b bytes.Buffer
		if json.Compact(&b, item) == nil {
			return append(append(line, b.Bytes()...), '\n')
		}
	}
	return append(append(line, item...), '\n')
}

func isJSONNumber(s string) bool {
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
