package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/bgkit/bgkit/controller"
)

const callExamples = `  bgkit call ECU_SIM_SERVICE session
  bgkit call TESTER_PRESENT_SERVICE set_interval 500
  bgkit call CAN_TRAFFIC_SERVICE set_payload '{"id":"123","data":"DEADBEEF"}'
`

func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("call", "<NAME> <method> [JSON] [flags]", callExamples, stderr)
	timeout := fs.Duration("timeout", 10*time.Second, "time budget of the call")
	var bf busFlags
	bf.register(fs)
	var pos []string
	for len(args) > 0 && len(pos) < 3 && (len(args[0]) == 0 || args[0][0] != '-' || isJSONNumber(args[0])) {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if len(pos) < 2 || len(pos) > 3 {
		return usagef("call takes NAME, method and an optional JSON input")
	}
	var in []byte
	if len(pos) == 3 {
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
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	out, err := c.CallRaw(cctx, pos[1], in)
	var se *controller.ServiceError
	if errors.As(err, &se) {
		if se.Code == 400 {
			return fmt.Errorf("%s.%s: error %d: %s\n(bgkit describe %s %s shows what it takes)", se.Service, se.Method, se.Code, se.Message, se.Service, se.Method)
		}
		return fmt.Errorf("%s.%s: error %d: %s", se.Service, se.Method, se.Code, se.Message)
	}
	if err != nil {
		return err
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

func isJSONNumber(s string) bool {
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
