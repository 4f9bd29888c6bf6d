package ecusim

import (
	"errors"
	"testing"
)

// ISO 14229-1:2013/2020 10.4.2.2, Table 42: SecurityAccess sub-functions
// 0x43–0x5E are ISOSAEReserved (requestSeed/sendKey pairs are 0x01–0x42,
// then 0x5F/0x60 for ISO 26021-2 and 0x61–0x7E supplier-specific). New
// accepts "an odd level from 0x01 to 0x7D", so an ECU can be configured to
// serve a reserved level, e.g. 27 43 / 27 44.
func TestSecurityLevelReserved(t *testing.T) {
	for _, level := range []uint8{0x43, 0x4F, 0x5D} {
		if _, err := New(Args{SecurityLevel: level}); !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("New(security_level 0x%02X): err %v, want ErrInvalidArgs (ISOSAEReserved level)", level, err)
		}
	}
}
