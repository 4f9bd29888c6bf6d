package cli

import (
	"context"
	"strings"
	"testing"
)

// TestRigErrorText: mistakes in rig files name the file, the line they are
// on, the argument by its JSON name and the rule in words.
func TestRigErrorText(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"key indented too little", "services:\n  - kind: kinds-test\n    args:\n      bus: virtual:bus0\n     interval_ms: 300\n",
			"rig.yaml:5: bad YAML: did not find expected key (check the indentation)"},
		{"key indented too much", "services:\n  - kind: kinds-test\n    args:\n      bus: virtual:bus0\n        interval_ms: 300\n",
			"rig.yaml:5: bad YAML: mapping values are not allowed in this context (check the indentation)"},
		{"item key misaligned", "services:\n  - kind: kinds-test\n   name: X\n",
			"rig.yaml:3: bad YAML:"},
		{"tab", "services:\n  - kind: kinds-test\n\targs: {}\n", "rig.yaml:3: bad YAML: found a tab character"},
		{"unclosed flow mapping", "services:\n  - kind: kinds-test\n    args: {bus: x\n  - kind: y\n", "rig.yaml:3: bad YAML:"},
		{"late error after a multi-line flow", "services:\n  - kind: kinds-test\n    args: {bus: x,\n      interval_ms: 5}\n  - kind: kinds-test\n    name: B\n   args: {}\n",
			"rig.yaml:7: bad YAML:"},
		{"grace beyond a day", "services:\n  - kind: kinds-test\n    grace: 2562047h\n",
			"rig.yaml:3: services[0].grace: 2562047h is longer than a day"},
		{"grace not a duration", "services:\n  - kind: kinds-test\n    grace: soon\n",
			`rig.yaml:3: services[0].grace: bad duration "soon" (e.g. 5s)`},
		{"below minimum", "services:\n  - kind: kinds-test\n    args:\n      listen: x\n      interval_ms: -5\n",
			"rig.yaml:5: services[0].args.interval_ms: must be at least 0, got -5"},
		{"wrong type", "services:\n  - kind: kinds-test\n    args:\n      interval_ms: soon\n",
			`rig.yaml:4: services[0].args.interval_ms: must be a number, got string "soon"`},
		{"hex too big", "services:\n  - kind: kinds-test\n    args:\n      listen: x\n      tx_id: 0x20000000\n",
			"rig.yaml:5: services[0].args.tx_id: must be at most 0x1FFFFFFF, got 0x20000000"},
		{"hex not hex", "services:\n  - kind: kinds-test\n    args:\n      tx_id: 7G8\n",
			`rig.yaml:4: services[0].args.tx_id: must be a number or a hex string such as "0x7E8", got "7G8"`},
		{"in a list", "services:\n  - kind: kinds-test\n    args:\n      listen: x\n      cyclic:\n        - {id: 0x100, period_ms: 10}\n        - id: 0x900\n          period_ms: 10\n",
			"rig.yaml:7: services[0].args.cyclic[1].id: must be at most 0x7FF, got 0x900"},
		{"wrong type in a list", "services:\n  - kind: kinds-test\n    args:\n      cyclic:\n        - {id: 1, period_ms: 10}\n        - id: 2\n          period_ms: soon\n",
			`rig.yaml:7: services[0].args.cyclic[1].period_ms: must be a number, got string "soon"`},
		{"required with", "services:\n  - kind: kinds-test\n    args:\n      tx_id: 0x7E0\n",
			"rig.yaml:4: services[0].args.listen: is required when tx_id is set"},
		{"two mistakes", "services:\n  - kind: kinds-test\n    args:\n      interval_ms: -5\n      mode: chaos\n      tx_id: 1\n      listen: x\n",
			`rig.yaml:4: services[0].args.interval_ms: must be at least 0, got -5; also mode: must be one of random, fixed, got "chaos" (line 5)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRig("rig.yaml", []byte(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
		})
	}
	// Every hex form works in YAML: a number, 0x unquoted and quoted, bare hex quoted.
	for _, v := range []string{"2016", "0x7E0", `"0x7E0"`, `"7E0"`, `'7e0'`} {
		_, err := parseRig("rig.yaml", []byte("services:\n  - kind: kinds-test\n    args: {listen: x, tx_id: "+v+"}\n"))
		if err != nil {
			t.Errorf("tx_id: %s: %v", v, err)
		}
	}
}

// TestRunArgsErrorText: bgkit run --args says the same as a rig file.
func TestRunArgsErrorText(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{`{"interval_ms":"x"}`, `kinds-test: interval_ms: must be a number, got string "x"`},
		{`{"interval_ms":-5,"listen":"x"}`, "kinds-test: interval_ms: must be at least 0, got -5"},
		{`{"intervl_ms":5}`, `kinds-test: unknown field "intervl_ms" (known: bus, cyclic, interval_ms, listen, mode, padding, tx_id)`},
		{`{"tx_id":"0x20000000","listen":"x"}`, "kinds-test: tx_id: must be at most 0x1FFFFFFF, got 0x20000000"},
	} {
		t.Setenv("NATS_URL", "")
		_, errOut, code := runCLI(t, context.Background(), "run", "kinds-test", "--args", tc.args)
		if code != 2 || !strings.Contains(errOut, "bgkit: "+tc.want+"\n") {
			t.Errorf("run --args %s: exit %d\n%s\nwant %q", tc.args, code, errOut, tc.want)
		}
	}
}
