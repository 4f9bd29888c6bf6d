package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
)

const describeExamples = `  bgkit describe ECU_SIM_SERVICE
  bgkit describe ECU_SIM_SERVICE get_did
  bgkit describe --json TESTER_PRESENT_SERVICE | jq '.endpoints[].in_schema'
`

// describedEndpoint is one method in `bgkit describe --json`.
type describedEndpoint struct {
	Name      string          `json:"name"`
	Subject   string          `json:"subject"`
	Doc       string          `json:"doc,omitempty"`
	Stream    bool            `json:"stream,omitempty"`
	InSchema  json.RawMessage `json:"in_schema,omitempty"`
	OutSchema json.RawMessage `json:"out_schema,omitempty"`
}

// describedService is the output of `bgkit describe --json`.
type describedService struct {
	Name        string              `json:"name"`
	ID          string              `json:"id"`
	Version     string              `json:"version"`
	Description string              `json:"description,omitempty"`
	Endpoints   []describedEndpoint `json:"endpoints"`
}

func runDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("describe", "<NAME> [method] [flags]", describeExamples, stdout)
	asJSON := fs.Bool("json", false, "print the raw JSON Schemas of inputs and outputs")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the service to answer")
	var bf busFlags
	bf.register(fs)
	var pos []string
	for len(args) > 0 && len(pos) < 2 && (len(args[0]) == 0 || args[0][0] != '-') {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("describe takes a service NAME and an optional method")
	}
	name := pos[0]
	if err := bus.ValidateName(name); err != nil {
		return usagef("describe: %v", err)
	}
	b, err := bf.connect(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer b.Close()
	info, err := fetchInfo(ctx, b.Conn(), name, *timeout)
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		var keep []describedEndpoint
		var known []string
		for _, ep := range info.Endpoints {
			known = append(known, ep.Name)
			if ep.Name == pos[1] {
				keep = append(keep, ep)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("describe: %s has no method %q (known: %s)", name, pos[1], strings.Join(known, ", "))
		}
		info.Endpoints = keep
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(stdout, "%s (version %s, id %s)\n", info.Name, info.Version, info.ID)
	if info.Description != "" {
		fmt.Fprintln(stdout, info.Description)
	}
	for _, ep := range info.Endpoints {
		fmt.Fprintln(stdout)
		call := "bgkit call "
		if ep.Stream {
			call += "--stream "
		}
		if err := printMethod(stdout, call+info.Name, ep.Name, ep.Doc, string(ep.InSchema), string(ep.OutSchema)); err != nil {
			return fmt.Errorf("describe %s.%s: %w", info.Name, ep.Name, err)
		}
	}
	return nil
}

// fetchInfo asks $SRV.INFO.<name> and keeps the first answer.
func fetchInfo(ctx context.Context, nc *nats.Conn, name string, timeout time.Duration) (*describedService, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := bus.Request(rctx, nc, &nats.Msg{Subject: bus.ControlSubject(micro.InfoVerb, name, "")}, 0)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("describe: no service %s on the bus (see bgkit ls)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", name, err)
	}
	var info micro.Info
	if err := json.Unmarshal(m.Data, &info); err != nil || info.Type != micro.InfoResponseType {
		return nil, fmt.Errorf("describe %s: not a $SRV.INFO answer: %.200s", name, m.Data)
	}
	out := &describedService{Name: info.Name, ID: info.ID, Version: info.Version, Description: info.Description,
		Endpoints: []describedEndpoint{}}
	for _, ep := range info.Endpoints {
		de := describedEndpoint{Name: ep.Name, Subject: ep.Subject, Doc: ep.Metadata[service.MetadataDoc],
			Stream: ep.Metadata[service.MetadataStream] == "true"}
		for key, dst := range map[string]*json.RawMessage{service.MetadataInSchema: &de.InSchema, service.MetadataOutSchema: &de.OutSchema} {
			if s := ep.Metadata[key]; s != "" && json.Valid([]byte(s)) {
				*dst = json.RawMessage(s)
			}
		}
		out.Endpoints = append(out.Endpoints, de)
	}
	return out, nil
}

// printMethod prints one method: its doc, input, output and an example
// call line that starts with callPrefix ("bgkit call NAME").
func printMethod(w io.Writer, callPrefix, name, methodDoc, inSchema, outSchema string) error {
	in, err := parseSchema(inSchema)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	out, err := parseSchema(outSchema)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if methodDoc != "" {
		fmt.Fprintf(w, "%s — %s\n", name, methodDoc)
	} else {
		fmt.Fprintln(w, name)
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	printSchemaIndent(tw, "  ", "input", in)
	printSchemaIndent(tw, "  ", "output", out)
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, trimLines(buf.String())); err != nil {
		return err
	}
	line := callPrefix + " " + name
	if ex := exampleJSON(in); ex != "" {
		line += " " + shellQuote(ex)
	}
	fmt.Fprintf(w, "  example: %s\n", line)
	return nil
}

// trimLines drops the spaces tabwriter leaves at the end of lines.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// printSchemaIndent prints "label: ..." and, for an object, one line per
// field, indented.
func printSchemaIndent(tw io.Writer, indent, label string, s *schema) {
	if s == nil {
		fmt.Fprintf(tw, "%s%s: none\n", indent, label)
		return
	}
	d := doc{defs: s.Defs}
	r := d.resolve(s)
	kind := ""
	if s.Stream {
		kind = "stream of "
	}
	if r != nil && r.Type == "object" && r.Properties != nil {
		fmt.Fprintf(tw, "%s%s: %sobject\n", indent, label, kind)
		for _, f := range d.fields(r, "", 0) {
			if label == "output" {
				f.rule = "" // rules bind what callers send, not what they get
			}
			fmt.Fprintf(tw, "%s  %s\t%s\t%s\t%s\n", indent, f.name, f.typ, f.rule, f.doc)
		}
		return
	}
	line := fmt.Sprintf("%s%s: %s%s", indent, label, kind, d.typeWords(s, 0))
	if r != nil && r.Rule != "" && label != "output" {
		line += ", " + r.Rule
	}
	if r != nil && r.Description != "" {
		line += " — " + r.Description
	}
	fmt.Fprintln(tw, line)
}
