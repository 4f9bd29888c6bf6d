package cli

import (
	"strings"
	"testing"
)

// TestRigRefusesWhatItWouldDropSilently: a rig file whose meaning
// YAML leaves to the reader's luck is refused, naming the line, instead of
// running part of it. yaml.v3 keeps duplicate keys in a Node (only decoding
// into a map refuses them) and Unmarshal reads the first document only.
func TestRigRefusesWhatItWouldDropSilently(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"services twice", "services:\n  - kind: kinds-test\n    args: {listen: x}\nservices:\n  - kind: ecu-sim\n",
			"rig.yaml:4: services: given twice (also at line 1)"},
		{"kind twice", "services:\n  - kind: kinds-test\n    kind: ecu-sim\n",
			"rig.yaml:3: services[0].kind: given twice (also at line 2)"},
		{"name twice", "services:\n  - kind: ecu-sim\n    name: A\n    name: B\n",
			"rig.yaml:4: services[0].name: given twice (also at line 3)"},
		{"args twice", "services:\n  - kind: kinds-test\n    args: {listen: x}\n    args: {listen: y}\n",
			"rig.yaml:4: services[0].args: given twice (also at line 3)"},
		{"second document", "services:\n  - kind: kinds-test\n    args: {listen: x}\n---\nservices:\n  - kind: ecu-sim\n",
			"rig.yaml:4: a second YAML document (one rig per file)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseRig("rig.yaml", []byte(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				var got []string
				if r != nil {
					for _, s := range r.services {
						got = append(got, s.kind)
					}
				}
				t.Fatalf("err = %v (services %v)\nwant %q", err, got, tc.want)
			}
		})
	}
}

// TestRigAnchors: YAML anchors, aliases and merge keys, which rig
// authors use to share a bus or a block of arguments, read as YAML says.
func TestRigAnchors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // args of each service
	}{
		{"args alias", "services:\n  - kind: kinds-test\n    args: &a {listen: x}\n  - kind: kinds-test\n    name: B\n    args: *a\n",
			[]string{`{"listen":"x"}`, `{"listen":"x"}`}},
		{"args merge", "services:\n  - kind: kinds-test\n    args: &a {listen: x, bus: virtual:b1}\n  - kind: kinds-test\n    name: B\n    args: {<<: *a, listen: y}\n",
			[]string{`{"bus":"virtual:b1","listen":"x"}`, `{"bus":"virtual:b1","listen":"y"}`}},
		{"service merge", "services:\n  - &s\n    kind: kinds-test\n    args: {listen: x}\n  - <<: *s\n    name: B\n",
			[]string{`{"listen":"x"}`, `{"listen":"x"}`}},
		{"service alias in list", "services:\n  - &s\n    kind: kinds-test\n    name: A\n    args: {listen: x}\n  - *s\n",
			nil}, // the same name twice: refused below
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseRig("rig.yaml", []byte(tc.yaml))
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), "service name A is already used") {
					t.Fatalf("err = %v, want the duplicate name", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.services) != len(tc.want) {
				t.Fatalf("%d services, want %d", len(r.services), len(tc.want))
			}
			for i, s := range r.services {
				if string(s.args) != tc.want[i] {
					t.Errorf("services[%d].args = %s, want %s", i, s.args, tc.want[i])
				}
			}
		})
	}
	// A merged key that is no argument is refused at the line of the key.
	_, err := parseRig("rig.yaml", []byte("services:\n  - kind: kinds-test\n    args: &a {listen: x}\n  - kind: ecu-sim\n    args: {<<: *a, s3_ms: 5000}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "rig.yaml:3: services[1].args.listen: unknown argument for kind ecu-sim") {
		t.Fatalf("err = %v", err)
	}
}

// TestRigEmptyArgs: "args:" with nothing after it (every argument
// commented out) is no arguments, as a missing args: is.
func TestRigEmptyArgs(t *testing.T) {
	r, err := parseRig("rig.yaml", []byte("services:\n  - kind: ecu-sim\n    args:\n    #  s3_ms: 5000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.services[0].args) != "{}" {
		t.Fatalf("args = %s", r.services[0].args)
	}
}

// TestRigStringsStayStrings: an unquoted value that YAML 1.1 would
// call a timestamp is the text written for a string argument, not
// "2024-05-01T00:00:00Z".
func TestRigStringsStayStrings(t *testing.T) {
	r, err := parseRig("rig.yaml", []byte("services:\n  - kind: kinds-test\n    args: {listen: 2024-05-01}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.services[0].args); got != `{"listen":"2024-05-01"}` {
		t.Fatalf("args = %s", got)
	}
}

// TestRigNonFiniteNumber: .inf and .nan name the argument.
func TestRigNonFiniteNumber(t *testing.T) {
	_, err := parseRig("rig.yaml", []byte("services:\n  - kind: kinds-test\n    args:\n      listen: x\n      interval_ms: .inf\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "rig.yaml:5: services[0].args.interval_ms: ") {
		t.Fatalf("err = %v", err)
	}
}

// TestRigAliasBomb: a "billion laughs" of aliases is refused at
// once, not expanded.
func TestRigAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n  - kind: ecu-sim\n    args:\n      dids:\n        a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("        a" + string(rune('0'+i%10)) + string(rune('a'+i)) + ": &a" + string(rune('a'+i)) + " [")
		prev := "a0"
		if i > 1 {
			prev = "a" + string(rune('a'+i-1))
		}
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
	}
	for _, y := range []string{b.String(),
		"services:\n  - &s\n    kind: ecu-sim\n    args: {dids: &d [*d]}\n",
	} {
		_, err := parseRig("rig.yaml", []byte(y))
		if err == nil {
			t.Fatalf("an alias bomb parsed:\n%s", y)
		}
	}
}

// TestRigMergeCycle: a mapping merging itself is refused.
func TestRigMergeCycle(t *testing.T) {
	_, err := parseRig("rig.yaml", []byte("services:\n  - &s\n    kind: ecu-sim\n    <<: *s\n"))
	if err == nil {
		t.Fatal("a merge of itself parsed")
	}
}
