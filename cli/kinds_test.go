package cli

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/spawn"
)

type kindsMessage struct {
	ID       hexid.ID `json:"id" validate:"required,lte=0x7FF" doc:"CAN identifier."`
	PeriodMS float64  `json:"period_ms" validate:"gt=0" doc:"Period of the frame."`
}

type kindsArgs struct {
	Bus        string         `json:"bus" doc:"CAN bus, virtual:<name> or socketcan:<if>."`
	TxID       hexid.ID       `json:"tx_id" validate:"lte=0x1FFFFFFF" doc:"Request identifier."`
	IntervalMS int            `json:"interval_ms" validate:"gte=0,lte=60000" doc:"Period of the requests."`
	Padding    *bool          `json:"padding,omitempty" doc:"Pad frames to 8 bytes."`
	Mode       string         `json:"mode" validate:"omitempty,oneof=random fixed" default:"random (when empty)"`
	Cyclic     []kindsMessage `json:"cyclic,omitempty" validate:"dive"`
	Listen     string         `json:"listen" validate:"required_with=TxID"`
}

// Normalize fills in the defaults, as a service's one normalize step does.
func (a *kindsArgs) Normalize() error {
	if a.Bus == "" {
		a.Bus = "virtual:bus0"
	}
	if a.TxID == 0 {
		a.TxID = 0x7DF
	}
	if a.IntervalMS == 0 {
		a.IntervalMS = 2000
	}
	if a.Padding == nil {
		t := true
		a.Padding = &t
	}
	if a.Listen == "" {
		return errors.New("listen is required") // defaults are shown all the same
	}
	return nil
}

type kindsService struct{ describeService }

func newKindsService(kindsArgs) (*kindsService, error) { return &kindsService{}, nil }

func init() { spawn.RegisterKind("kinds-test", newKindsService) }

func TestKinds(t *testing.T) {
	out, errOut, code := runCLI(t, context.Background(), "kinds", "kinds-test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	// One line per argument: name, type, default, rule in words, doc.
	for _, row := range [][]string{
		{"bus", "string", `default "virtual:bus0"`, "", "CAN bus, virtual:<name> or socketcan:<if>."},
		{"tx_id", "integer or hex string", `default "0x7DF"`, "must be at most 0x1FFFFFFF", "Request identifier."},
		{"interval_ms", "integer", "default 2000", "must be from 0 to 60000", "Period of the requests."},
		{"padding", "boolean", "default true", "", "Pad frames to 8 bytes."},
		{"mode", "string", "default random (when empty)", "must be one of random, fixed", ""},
		{"cyclic", "list of {id, period_ms}", "default -", "", ""},
		{"cyclic[].id", "integer or hex string", "default -", "is required, must be at most 0x7FF", "CAN identifier."},
		{"cyclic[].period_ms", "number", "default -", "must be more than 0", "Period of the frame."},
		{"listen", "string", `default ""`, "is required when tx_id is set", ""},
	} {
		re := `(?m)^    ` + regexp.QuoteMeta(row[0])
		for _, cell := range row[1:] {
			if cell != "" {
				re += `\s{2,}` + regexp.QuoteMeta(cell)
			}
		}
		if !regexp.MustCompile(re + `$`).MatchString(out) {
			t.Errorf("no line %q", row)
		}
	}
	for _, want := range []string{
		"kinds-test (service KINDS_SERVICE)\n  arguments:\n",
		"  methods:\n    configure — Sets the generator up.\n      input: object\n        mode ",
		"    get_did — Reads one DID.\n      input: object\n        did  integer or hex string  is required  Data identifier.\n",
		"    reset\n      input: none\n",
		"    set_interval\n      input: integer\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, goType := range []string{"*bool", "[]", "hexid", "kindsMessage", "float64", "uint", "required_with=", "TxID"} {
		if strings.Contains(strings.ReplaceAll(out, "cyclic[]", "cyclic"), goType) {
			t.Errorf("output shows Go %q", goType)
		}
	}
	if regexp.MustCompile(`(?m) $`).MatchString(out) {
		t.Error("lines end in spaces")
	}
	_, errOut, code = runCLI(t, context.Background(), "kinds", "no-such-kind")
	if code != 2 || !strings.Contains(errOut, `unknown kind "no-such-kind"`) {
		t.Errorf("unknown kind: exit %d, %s", code, errOut)
	}
	all, _, code := runCLI(t, context.Background(), "kinds")
	for _, k := range spawn.Kinds() {
		if code != 0 || !strings.Contains(all, k+" (service ") {
			t.Errorf("kinds lacks %s", k)
		}
	}
}
