package testerpresent

import (
	"reflect"
	"testing"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/uds/doip"
)

// TestDocsDefaultTags checks that the default bgkit kinds shows for
// source_address (which a zero Args, on CAN, leaves unset) is the one
// normalize applies with DoIP.
func TestDocsDefaultTags(t *testing.T) {
	a := Args{DoIPAddress: "127.0.0.1:13400"}
	a.Normalize()
	if a.SourceAddress != hexid.ID(doip.DefaultTesterAddress) {
		t.Fatalf("source_address after Normalize = %s", a.SourceAddress)
	}
	f, _ := reflect.TypeFor[Args]().FieldByName("SourceAddress")
	if got, want := f.Tag.Get("default"), `"`+a.SourceAddress.String()+`" (with DoIP)`; got != want {
		t.Errorf("source_address: default tag %s, want %s", got, want)
	}
}
