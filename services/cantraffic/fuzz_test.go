package cantraffic

import (
	"testing"

	"github.com/bgkit/bgkit/hexid"
)

// FuzzGenConfig: any generator arguments either fail New's checks or
// generate valid frames.
func FuzzGenConfig(f *testing.F) {
	f.Add("r", "r", "r", uint8(0))
	f.Add("i", "i", "i", uint8(1))
	f.Add("7E0", "8", "11x233xx", uint8(0))
	f.Add("1ABCDEF0", "64", "DEADBEEF", uint8(3))
	f.Add("e", "12", "xx", uint8(0x12))
	f.Add("o", "0", "", uint8(0x20))
	f.Fuzz(func(t *testing.T, id, length, data string, flags uint8) {
		a := GeneratorArgs{
			IDMode: id, LenMode: length, DataMode: data,
			Extended: flags&1 != 0, FD: flags&2 != 0, BRS: flags&4 != 0,
			ESI: flags&8 != 0, RTR: flags&16 != 0, Mix: flags&32 != 0,
		}
		c, err := parseGenConfig(&a)
		if err != nil {
			return
		}
		g := newGenerator(&c, 1)
		for range 20 {
			fr := g.next()
			if err := fr.Validate(); err != nil {
				t.Fatalf("%+v: frame %v: %v", a, fr, err)
			}
		}
	})
}

// FuzzCyclicData: any cyclic payload is refused or gives a valid frame.
func FuzzCyclicData(f *testing.F) {
	f.Add("123", "11223344", false, false)
	f.Add("1ABCDEF0", "", true, false)
	f.Add("7FF", "112233445566778899", false, true)
	f.Fuzz(func(t *testing.T, id, data string, ext, fd bool) {
		h, err := hexid.Parse(id)
		if err != nil {
			return
		}
		m, err := newCyclic(CyclicMessage{ID: h, Data: data, PeriodMS: 10, Extended: ext, FD: fd})
		if err != nil {
			return
		}
		fr := m.next()
		if err := fr.Validate(); err != nil {
			t.Fatalf("id %q data %q: frame %v: %v", id, data, fr, err)
		}
	})
}
