package uds_test

import (
	"errors"
	"testing"

	"github.com/bgkit/bgkit/uds"
)

// ISO 14229-1:2013/2020 10.4.2.2, Table 42 (SecurityAccess request
// sub-function parameter definition): 0x00 ISOSAEReserved; 0x01–0x41 odd
// requestSeed; 0x02–0x42 even sendKey; 0x43–0x5E ISOSAEReserved; 0x5F/0x60
// ISO 26021-2; 0x61–0x7E systemSupplierSpecific; 0x7F ISOSAEReserved.
// The codec refuses 0x00 and 0x7F as reserved (ErrInvalidValue) but takes
// the reserved block 0x43–0x5E as ordinary levels.
func TestSecurityAccessReservedLevels(t *testing.T) {
	for _, level := range []byte{0x43, 0x44, 0x50, 0x5D, 0x5E} {
		_, err := uds.SecurityAccessRequest{Level: level}.MarshalBinary()
		if !errors.Is(err, uds.ErrInvalidValue) {
			t.Errorf("SecurityAccessRequest{Level: 0x%02X}.MarshalBinary: err %v, want ErrInvalidValue (ISOSAEReserved)", level, err)
		}
		var r uds.SecurityAccessRequest
		if err := r.UnmarshalBinary([]byte{0x27, level}); !errors.Is(err, uds.ErrInvalidValue) {
			t.Errorf("UnmarshalBinary(27 %02X): err %v, want ErrInvalidValue (ISOSAEReserved)", level, err)
		}
	}
	// The neighbours stay valid.
	for _, level := range []byte{0x41, 0x42, 0x5F, 0x60, 0x61, 0x7E} {
		if _, err := (uds.SecurityAccessRequest{Level: level}).MarshalBinary(); err != nil {
			t.Errorf("level 0x%02X: %v", level, err)
		}
	}
}
