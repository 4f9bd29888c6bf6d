package cantraffic

import (
	"reflect"
	"strconv"
	"testing"
)

// TestDocsDefaultTags checks that the default tags bgkit kinds shows for
// fields of modes that a zero Args leaves unset agree with the
// normalize step that applies them.
func TestDocsDefaultTags(t *testing.T) {
	var r ReplayArgs
	r.normalize()
	f, _ := reflect.TypeFor[ReplayArgs]().FieldByName("Speed")
	if got, want := f.Tag.Get("default"), strconv.FormatFloat(r.Speed, 'f', -1, 64); got != want {
		t.Errorf("replay.speed: default tag %q, normalize gives %s", got, want)
	}
	var a Args
	if err := a.Normalize(); err != nil {
		t.Fatalf("Normalize of a zero Args: %v", err)
	}
	if a.Generator == nil || a.Bus != DefaultBus || *a.Generator.GapMS != DefaultGapMS {
		t.Errorf("Normalize of a zero Args gave %+v, want the generator with its defaults on %s", a, DefaultBus)
	}
}
