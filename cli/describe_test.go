package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

type describeDIDIn struct {
	DID hexid.ID `json:"did" validate:"required" doc:"Data identifier."`
}

type describeDIDOut struct {
	DID   hexid.ID `json:"did"`
	Value string   `json:"value" validate:"max=64" doc:"Value in hex."`
}

type describeCyclic struct {
	ID       hexid.ID `json:"id" validate:"lte=0x7FF" doc:"CAN identifier."`
	PeriodMS float64  `json:"period_ms" validate:"gt=0,lte=3600000" doc:"Period."`
}

type describeConfig struct {
	Mode   string           `json:"mode" validate:"required,oneof=random fixed" doc:"How IDs are chosen."`
	Data   string           `json:"data" validate:"max=16" example:"DEADBEEF"`
	Burst  int              `json:"burst" validate:"gte=1,lte=100"`
	Cyclic []describeCyclic `json:"cyclic" validate:"min=1,dive"`
	Replay struct {
		File string `json:"file" validate:"required" doc:"candump log."`
	} `json:"replay"`
}

type describeService struct{}

func (describeService) Initialize(context.Context) error { return nil }
func (describeService) Shutdown(context.Context) error   { return nil }
func (describeService) GetDID(_ context.Context, in describeDIDIn) (describeDIDOut, error) {
	return describeDIDOut{DID: in.DID, Value: "00"}, nil
}
func (describeService) SetInterval(_ context.Context, ms int) error         { return nil }
func (describeService) Configure(_ context.Context, c describeConfig) error { return nil }
func (describeService) Reset(context.Context) error                         { return nil }
func (describeService) EndpointDocs() map[string]string {
	return map[string]string{"GetDID": "Reads one DID.", "Configure": "Sets the generator up."}
}

// describeServe serves describeService on a fresh embedded bus and sets
// NATS_URL for the command line.
func describeServe(t *testing.T) {
	t.Helper()
	b, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, b, describeService{}, service.WithName("DESCRIBE_TEST"),
			service.WithLogger(slog.New(slog.DiscardHandler)), service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		b.Close()
	})
	t.Setenv("NATS_URL", b.Credentials().ShareURL())
}

// describeFieldPaths lists the property paths of a schema as describe
// prints them (nested objects dotted, lists of objects with []).
func describeFieldPaths(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	s, err := parseSchema(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return nil
	}
	d := doc{defs: s.Defs}
	var walk func(s *schema, prefix string) []string
	walk = func(s *schema, prefix string) []string {
		s = d.resolve(s)
		if s == nil || s.Properties == nil {
			return nil
		}
		var out []string
		for _, n := range s.Properties.names {
			out = append(out, prefix+n)
			p := d.resolve(s.Properties.byKey[n])
			if p.Type == "array" {
				out = append(out, walk(p.Items, prefix+n+"[].")...)
			} else {
				out = append(out, walk(p, prefix+n+".")...)
			}
		}
		return out
	}
	return walk(s, "")
}

func TestDescribe(t *testing.T) {
	describeServe(t)
	ctx := context.Background()
	out, errOut, code := runCLI(t, ctx, "describe", "DESCRIBE_TEST")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	if regexp.MustCompile(`(?m) $`).MatchString(out) {
		t.Error("lines end in spaces")
	}
	jsonOut, errOut, code := runCLI(t, ctx, "describe", "--json", "DESCRIBE_TEST")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var ds describedService
	if err := json.Unmarshal([]byte(jsonOut), &ds); err != nil {
		t.Fatalf("--json output: %v\n%s", err, jsonOut)
	}
	if len(ds.Endpoints) != 4 {
		t.Fatalf("endpoints = %+v", ds.Endpoints)
	}
	sections := strings.Split(out, "\n\n")
	if len(sections) != 5 || !strings.HasPrefix(sections[0], "DESCRIBE_TEST (version") {
		t.Fatalf("want a header and 4 methods, got %d sections", len(sections))
	}
	exampleRE := regexp.MustCompile(`(?m)^  example: bgkit call DESCRIBE_TEST (\S+)(?: '(.*)'| (\S+))?$`)
	for i, ep := range ds.Endpoints {
		sec := sections[i+1]
		if !strings.HasPrefix(sec, ep.Name) {
			t.Errorf("section %d does not start with %s:\n%s", i+1, ep.Name, sec)
		}
		if ep.Doc != "" && !strings.Contains(sec, ep.Doc) {
			t.Errorf("%s: doc %q missing", ep.Name, ep.Doc)
		}
		// The served schemas are the ones the service package makes.
		for _, raw := range []json.RawMessage{ep.InSchema, ep.OutSchema} {
			if raw != nil && !json.Valid(raw) {
				t.Errorf("%s: invalid schema %s", ep.Name, raw)
			}
		}
		// Every field of the schemas appears, as a line of its own.
		for _, p := range append(describeFieldPaths(t, ep.InSchema), describeFieldPaths(t, ep.OutSchema)...) {
			if !regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(p) + `\s`).MatchString(sec) {
				t.Errorf("%s: field %s missing:\n%s", ep.Name, p, sec)
			}
		}
		// No rules for outputs.
		if strings.Contains(sec[strings.Index(sec, "output:"):], "must be at most 64") {
			t.Errorf("%s: output shows a rule", ep.Name)
		}
		// Each rule in words appears.
		var in schema
		if ep.InSchema != nil {
			_ = json.Unmarshal(ep.InSchema, &in)
			if in.Properties != nil {
				for _, n := range in.Properties.names {
					if r := in.Properties.byKey[n].Rule; r != "" && !strings.Contains(sec, r) {
						t.Errorf("%s: rule %q of %s missing", ep.Name, r, n)
					}
				}
			}
		}
		// The example line calls the method successfully.
		m := exampleRE.FindStringSubmatch(sec)
		if m == nil || m[1] != ep.Name {
			t.Errorf("%s: no example line:\n%s", ep.Name, sec)
			continue
		}
		args := []string{"call", "DESCRIBE_TEST", m[1]}
		switch {
		case m[2] != "":
			args = append(args, m[2])
		case m[3] != "":
			args = append(args, m[3])
		}
		if (ep.InSchema != nil) != (len(args) == 4) {
			t.Errorf("%s: example %q and input %s disagree", ep.Name, m[0], ep.InSchema)
		}
		if _, errOut, code := runCLI(t, ctx, args...); code != 0 {
			t.Errorf("%s: example %v fails: %s", ep.Name, args, errOut)
		}
	}
	for _, want := range []string{
		"integer or hex string", "must be one of random, fixed", "list of {id, period_ms}",
		"must be from 1 to 100", "must be at most 0x7FF", "input: none", "input: integer", "output: none",
		"cyclic[].period_ms", "replay.file", `"data":"DEADBEEF"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, not := range []string{"hexid.ID", "describeCyclic", "float64", "[]" + "cli."} {
		if strings.Contains(out, not) {
			t.Errorf("output shows Go type %q", not)
		}
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, ds.Endpoints[0].InSchema)
	if got := ds.Endpoints[0]; got.Name != "configure" || compact.String() != string(service.JSONSchema(reflect.TypeFor[describeConfig]())) {
		t.Errorf("configure in_schema = %s", got.InSchema)
	}
}

func TestDescribeErrors(t *testing.T) {
	describeServe(t)
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"describe"}, 2, "describe takes a service NAME"},
		{[]string{"describe", "a.b"}, 2, "describe:"},
		{[]string{"describe", "NOBODY_HERE"}, 1, "no service NOBODY_HERE"},
		{[]string{"describe", "DESCRIBE_TEST", "nope"}, 1, `no method "nope" (known: configure, get_did, reset, set_interval)`},
	} {
		_, errOut, code := runCLI(t, ctx, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	// A bad argument points at describe.
	_, errOut, code := runCLI(t, ctx, "call", "DESCRIBE_TEST", "get_did", `"F190"`)
	if code != 1 || !strings.Contains(errOut, `get_did: bad argument: must be an object, got string "F190"`) ||
		!strings.Contains(errOut, "bgkit describe DESCRIBE_TEST get_did shows what it takes") {
		t.Errorf("call with a bad argument: exit %d\n%s", code, errOut)
	}
	out, _, code := runCLI(t, ctx, "describe", "DESCRIBE_TEST", "get_did")
	if code != 0 || !strings.HasPrefix(out, "DESCRIBE_TEST") || strings.Count(out, "example:") != 1 {
		t.Errorf("one method: exit %d\n%s", code, out)
	}
}
