package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

const kindsExamples = `  bgkit kinds
  bgkit kinds tester-present
`

// runKinds prints each kind's arguments (JSON name, type, default, rule in
// words, doc) and its methods (doc and input), from the registered Go
// types, without running anything.
//
// Defaults: a field's default is its `default:"..."` tag if it has one;
// otherwise, if the argument type has a method Normalize() or
// Normalize() error (on the pointer) that fills in defaults, the value it
// gives a zero argument value (whatever error it returns); otherwise "-" (unknown: bgkit cannot tell
// whether the service reads a zero as "use the default").
func runKinds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kinds", "[kind]", kindsExamples, stdout)
	if err := parse(fs, args); err != nil {
		return err
	}
	kinds := spawn.Kinds()
	if fs.NArg() > 0 {
		kinds = fs.Args()
	}
	for i, k := range kinds {
		if _, _, ok := spawn.KindTypes(k); !ok {
			return usagef("unknown kind %q (known: %s)", k, strings.Join(spawn.Kinds(), ", "))
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := printKind(stdout, k); err != nil {
			return err
		}
	}
	return nil
}

func printKind(w io.Writer, kind string) error {
	argsType, svcType, _ := spawn.KindTypes(kind)
	name, _ := spawn.KindServiceName(kind)
	fmt.Fprintf(w, "%s (service %s)\n", kind, name)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	s, err := parseSchema(string(service.JSONSchema(argsType)))
	if err != nil {
		return fmt.Errorf("kinds %s: %w", kind, err)
	}
	d := doc{defs: s.Defs}
	fields := d.fields(s, "", 0)
	if len(fields) == 0 {
		fmt.Fprintln(tw, "  arguments: none")
	} else {
		fmt.Fprintln(tw, "  arguments:")
		defaults := kindDefaults(argsType)
		for _, f := range fields {
			def, ok := defaults[f.name]
			if !ok {
				def = "-"
			}
			fmt.Fprintf(tw, "    %s\t%s\tdefault %s\t%s\t%s\n", f.name, f.typ, def, f.rule, f.doc)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	io.WriteString(w, trimLines(buf.String()))
	eps, err := kindEndpoints(svcType)
	if err != nil {
		fmt.Fprintf(w, "  methods: cannot list: %v\n", err)
		return nil
	}
	if len(eps) == 0 {
		fmt.Fprintln(w, "  methods: none")
		return nil
	}
	fmt.Fprintln(w, "  methods:")
	for _, ep := range eps {
		line := "    " + ep.Name
		if ep.Doc != "" {
			line += " — " + ep.Doc
		}
		fmt.Fprintln(w, line)
		in, err := parseSchema(string(service.JSONSchema(ep.In)))
		if err != nil {
			return fmt.Errorf("kinds %s: %w", kind, err)
		}
		buf.Reset()
		tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		printSchemaIndent(tw, "      ", "input", in)
		if err := tw.Flush(); err != nil {
			return err
		}
		io.WriteString(w, trimLines(buf.String()))
	}
	return nil
}

// kindEndpoints lists the endpoints of a service type from a zero value.
func kindEndpoints(t reflect.Type) (eps []service.Endpoint, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	var v reflect.Value
	if t.Kind() == reflect.Pointer {
		v = reflect.New(t.Elem())
	} else {
		v = reflect.New(t).Elem()
	}
	return service.Endpoints(v.Interface())
}

// kindDefaults maps argument paths (as fields lists them) to their
// defaults; see runKinds.
func kindDefaults(t reflect.Type) map[string]string {
	out := map[string]string{}
	v := reflect.New(t)
	if normalize(v) {
		var tree any
		if b, err := json.Marshal(v.Interface()); err == nil {
			_ = json.Unmarshal(b, &tree)
		}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			for k, fv := range m {
				if fv != nil {
					b, _ := json.Marshal(fv)
					out[prefix+k] = string(b)
				}
				walk(prefix+k+".", fv)
			}
		}
		walk("", tree)
	}
	tagDefaults(t, "", out, 0)
	return out
}

// normalize calls v's Normalize method, if it has one, and reports
// whether it ran without a panic. An error it returns (a zero value may
// lack a required argument) does not matter: the defaults are filled in
// all the same.
func normalize(v reflect.Value) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m := v.MethodByName("Normalize")
	if !m.IsValid() || m.Type().NumIn() != 0 {
		return false
	}
	m.Call(nil)
	return true
}

// tagDefaults adds the default:"..." tags of struct t's fields.
func tagDefaults(t reflect.Type, prefix string, out map[string]string, depth int) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 4 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			tagDefaults(f.Type, prefix, out, depth+1)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if d, ok := f.Tag.Lookup("default"); ok {
			out[prefix+name] = d
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array {
			// Items are listed as "name[].field".
			tagDefaults(ft.Elem(), prefix+name+"[].", out, depth+1)
			continue
		}
		tagDefaults(f.Type, prefix+name+".", out, depth+1)
	}
}
