package canrecorder

import (
	"reflect"
	"strconv"
	"testing"
)

// TestDocsDefaultTags checks the defaults bgkit kinds shows for bus and
// autostart against what New applies.
func TestDocsDefaultTags(t *testing.T) {
	cfg, err := Args{Path: "x.log"}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[Args]()
	for name, want := range map[string]string{
		"Bus":       strconv.Quote(cfg.args.Bus),
		"Autostart": strconv.FormatBool(*cfg.args.Autostart),
	} {
		f, _ := typ.FieldByName(name)
		if got := f.Tag.Get("default"); got != want {
			t.Errorf("%s: default tag %s, New applies %s", name, got, want)
		}
	}
}
