package cli

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bgkit/bgkit/spawn"
)

func runKinds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kinds", "[kind]", "  bgkit kinds\n  bgkit kinds tester-present\n", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	kinds := spawn.Kinds()
	if fs.NArg() > 0 {
		kinds = fs.Args()
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, k := range kinds {
		proto, ok := spawn.KindArgs(k)
		if !ok {
			return usagef("unknown kind %q (known: %s)", k, strings.Join(spawn.Kinds(), ", "))
		}
		name, _ := spawn.KindServiceName(k)
		fmt.Fprintf(tw, "%s\t(service %s)\n", k, name)
		t := reflect.TypeOf(proto).Elem()
		fields := jsonFields(t)
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			tag := ""
			if sf, ok := fieldByJSON(t, n); ok {
				tag = sf.Tag.Get("validate")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", n, fields[n], tag)
		}
	}
	return tw.Flush()
}

func fieldByJSON(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if n == name || (n == "" && f.Name == name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
