package cli

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
	"github.com/bgkit/bgkit/uds/doip"
	"github.com/bgkit/bgkit/uds/isotp"
)

// kindsDocsPkgPrefix is the package path of the built-in kinds (the
// services registered by services.RegisterAll); tests register kinds of
// their own, which need no docs.
const kindsDocsPkgPrefix = "github.com/bgkit/bgkit/services/"

// kindsDocsBuiltIn lists the built-in kinds among those registered.
func kindsDocsBuiltIn() []string {
	var out []string
	for _, k := range spawn.Kinds() {
		argsType, _, _ := spawn.KindTypes(k)
		t := argsType
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if strings.HasPrefix(t.PkgPath(), kindsDocsPkgPrefix) {
			out = append(out, k)
		}
	}
	return out
}

// kindsDocsMissing lists the fields of t's JSON form that have no doc, as
// bgkit kinds and bgkit describe list them ("replay.file",
// "cyclic[].id"), each after prefix.
func kindsDocsMissing(t *testing.T, prefix string, typ reflect.Type) []string {
	t.Helper()
	if typ == nil {
		return nil
	}
	s, err := parseSchema(string(service.JSONSchema(typ)))
	if err != nil {
		t.Fatalf("%s: schema of %v: %v", prefix, typ, err)
	}
	if s == nil {
		return nil
	}
	d := doc{defs: s.Defs}
	var missing []string
	for _, f := range d.fields(s, "", 0) {
		if strings.TrimSpace(f.doc) == "" {
			missing = append(missing, prefix+f.name)
		}
	}
	return missing
}

// TestKindsDocsComplete fails when an argument field, a method or a field
// of a method's input or output of a built-in kind has no doc, so that
// bgkit kinds and bgkit describe read as documentation for all of them.
func TestKindsDocsComplete(t *testing.T) {
	kinds := kindsDocsBuiltIn()
	// The built-in kinds of the first round at least; a broken filter
	// would make the test pass on nothing.
	for _, want := range []string{"can-monitor", "can-recorder", "can-traffic", "ecu-sim", "tester-present"} {
		found := false
		for _, k := range kinds {
			found = found || k == want
		}
		if !found {
			t.Fatalf("built-in kind %s not found among %v", want, kinds)
		}
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			argsType, svcType, _ := spawn.KindTypes(kind)
			var missing []string
			missing = append(missing, kindsDocsMissing(t, "argument ", argsType)...)
			eps, err := kindEndpoints(svcType)
			if err != nil {
				t.Fatalf("endpoints: %v", err)
			}
			if len(eps) == 0 {
				t.Fatalf("no methods found on %v", svcType)
			}
			for _, ep := range eps {
				if strings.TrimSpace(ep.Doc) == "" {
					missing = append(missing, "method "+ep.Name+" (add it to EndpointDocs)")
				}
				missing = append(missing, kindsDocsMissing(t, ep.Name+" input ", ep.In)...)
				missing = append(missing, kindsDocsMissing(t, ep.Name+" output ", ep.Out)...)
			}
			for _, m := range missing {
				t.Errorf("no doc: %s", m)
			}
		})
	}
}

type kindsDocsItem struct {
	Period float64 `json:"period_ms" default:"100"`
	Inner  struct {
		On bool `json:"on" default:"false"`
	} `json:"inner"`
}

type kindsDocsArgs struct {
	Items []kindsDocsItem  `json:"items"`
	Ptrs  []*kindsDocsItem `json:"ptrs"`
	One   *kindsDocsItem   `json:"one"`
}

// TestKindsDocsListDefaults checks that default tags of the fields of list
// items are found under the names bgkit kinds lists them by
// ("items[].period_ms").
func TestKindsDocsListDefaults(t *testing.T) {
	got := kindDefaults(reflect.TypeFor[kindsDocsArgs]())
	for path, want := range map[string]string{
		"items[].period_ms": "100", "items[].inner.on": "false",
		"ptrs[].period_ms": "100", "one.period_ms": "100", "one.inner.on": "false",
	} {
		if got[path] != want {
			t.Errorf("default of %s = %q, want %q (all: %v)", path, got[path], want, got)
		}
	}
}

// TestKindsDocsSharedDefaults checks the defaults that the built-in
// diagnostic kinds show for the arguments they share against the
// constants the code applies, whether the default comes from Normalize or
// from a default tag (which cannot follow the constant by itself).
func TestKindsDocsSharedDefaults(t *testing.T) {
	want := map[string][]string{
		"pad_byte":       {strconv.Itoa(isotp.DefaultPadByte), fmt.Sprintf("%d (0x%X)", isotp.DefaultPadByte, isotp.DefaultPadByte)},
		"source_address": {`"` + hexid.ID(doip.DefaultTesterAddress).String() + `" (with DoIP)`},
	}
	checked := 0
	for _, kind := range kindsDocsBuiltIn() {
		argsType, _, _ := spawn.KindTypes(kind)
		defaults := kindDefaults(argsType)
		for field, ok := range want {
			got, has := defaults[field]
			if !has {
				continue
			}
			checked++
			found := false
			for _, w := range ok {
				found = found || got == w
			}
			if !found {
				t.Errorf("%s: %s shows default %s, want one of %q", kind, field, got, ok)
			}
		}
	}
	if checked < 4 {
		t.Errorf("checked %d defaults, want pad_byte and source_address of several kinds", checked)
	}
}

// TestKindsDocsTextSchema checks that a type JSON carries as text (it has
// MarshalText and no MarshalJSON, as can.Frame, the item of can-recorder's
// tail stream) is described as the string it is, not as its Go fields;
// and that types with their own JSON form keep theirs.
func TestKindsDocsTextSchema(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[can.Frame](), "string"},
		{reflect.TypeFor[time.Time](), "time (RFC 3339 string)"},
		{reflect.TypeFor[hexid.ID](), "integer or hex string"},
	} {
		s, err := parseSchema(string(service.JSONSchema(tc.typ)))
		if err != nil {
			t.Fatalf("%v: %v", tc.typ, err)
		}
		d := doc{defs: s.Defs}
		if got := d.typeWords(s, 0); got != tc.want {
			t.Errorf("%v: described as %q, want %q", tc.typ, got, tc.want)
		}
	}
}
