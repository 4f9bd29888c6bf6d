package canmonitor

import (
	"reflect"
	"strconv"
	"testing"
)

// TestDocsDefaultTags checks that the default bgkit kinds shows for bus
// is DefaultBus, which New applies.
func TestDocsDefaultTags(t *testing.T) {
	f, _ := reflect.TypeFor[Args]().FieldByName("Bus")
	if got, want := f.Tag.Get("default"), strconv.Quote(DefaultBus); got != want {
		t.Errorf("bus: default tag %s, want %s", got, want)
	}
}
