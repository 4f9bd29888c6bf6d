package cantraffic

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/bgkit/bgkit/can"
)

// frames generates n frames from args with seed.
func frames(t *testing.T, a GeneratorArgs, seed uint64, n int) []can.Frame {
	t.Helper()
	c, err := parseGenConfig(&a)
	if err != nil {
		t.Fatalf("parseGenConfig: %v", err)
	}
	g := newGenerator(&c, seed)
	out := make([]can.Frame, n)
	for i := range out {
		out[i] = g.next()
		if err := out[i].Validate(); err != nil {
			t.Fatalf("frame %d %v: %v", i, out[i], err)
		}
	}
	return out
}

func TestGeneratorModes(t *testing.T) {
	tests := []struct {
		name  string
		args  GeneratorArgs
		check func(t *testing.T, i int, f can.Frame)
	}{
		{
			name: "fixed id, length and data",
			args: GeneratorArgs{IDMode: "42A", LenMode: "3", DataMode: "1122334455"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.String() != "42A#112233" {
					t.Errorf("frame %d = %v, want 42A#112233", i, f)
				}
			},
		},
		{
			name: "fixed data gives its length",
			args: GeneratorArgs{IDMode: "123", DataMode: "DEADBEEF"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.String() != "123#DEADBEEF" {
					t.Errorf("frame %d = %v, want 123#DEADBEEF", i, f)
				}
			},
		},
		{
			name: "fixed data, longer length pads with zeros",
			args: GeneratorArgs{IDMode: "123", LenMode: "4", DataMode: "AB"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.String() != "123#AB000000" {
					t.Errorf("frame %d = %v, want 123#AB000000", i, f)
				}
			},
		},
		{
			name: "increment id wraps at 7FF",
			args: GeneratorArgs{IDMode: "i", LenMode: "0"},
			check: func(t *testing.T, i int, f can.Frame) {
				if want := uint32(i) & can.MaxID; f.ID != want || f.Extended {
					t.Errorf("frame %d id %X ext %v, want %X standard", i, f.ID, f.Extended, want)
				}
			},
		},
		{
			name: "even ids",
			args: GeneratorArgs{IDMode: "e"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.ID%2 != 0 || f.ID > can.MaxID {
					t.Errorf("frame %d id %X is not an even standard id", i, f.ID)
				}
			},
		},
		{
			name: "odd ids",
			args: GeneratorArgs{IDMode: "o"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.ID%2 != 1 || f.ID > can.MaxID {
					t.Errorf("frame %d id %X is not an odd standard id", i, f.ID)
				}
			},
		},
		{
			name: "extended fixed id",
			args: GeneratorArgs{IDMode: "1ABCDEF0", Extended: true, LenMode: "1", DataMode: "00"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.String() != "1ABCDEF0#00" {
					t.Errorf("frame %d = %v, want 1ABCDEF0#00", i, f)
				}
			},
		},
		{
			name: "extended random ids",
			args: GeneratorArgs{Extended: true},
			check: func(t *testing.T, i int, f can.Frame) {
				if !f.Extended || f.ID > can.MaxExtendedID {
					t.Errorf("frame %d = %v, want an extended frame", i, f)
				}
			},
		},
		{
			name: "FD with BRS",
			args: GeneratorArgs{FD: true, BRS: true},
			check: func(t *testing.T, i int, f can.Frame) {
				if !f.FD || !f.BRS || f.ESI {
					t.Errorf("frame %d = %v, want FD with BRS", i, f)
				}
			},
		},
		{
			name: "BRS implies FD; fixed FD length rounds up",
			args: GeneratorArgs{BRS: true, LenMode: "10", DataMode: "i"},
			check: func(t *testing.T, i int, f can.Frame) {
				if !f.FD || !f.BRS || f.Len != 12 {
					t.Errorf("frame %d = %v, want FD+BRS with 12 bytes", i, f)
				}
			},
		},
		{
			name: "ESI",
			args: GeneratorArgs{ESI: true},
			check: func(t *testing.T, i int, f can.Frame) {
				if !f.FD || !f.ESI || f.BRS {
					t.Errorf("frame %d = %v, want FD with ESI", i, f)
				}
			},
		},
		{
			name: "remote frames",
			args: GeneratorArgs{IDMode: "7DF", RTR: true, LenMode: "8"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.String() != "7DF#R8" {
					t.Errorf("frame %d = %v, want 7DF#R8", i, f)
				}
			},
		},
		{
			name: "random nibbles",
			args: GeneratorArgs{IDMode: "100", DataMode: "11x233xx"},
			check: func(t *testing.T, i int, f can.Frame) {
				d := f.Payload()
				if len(d) != 4 || d[0] != 0x11 || d[1]&0x0F != 0x02 || d[2] != 0x33 {
					t.Errorf("frame %d = %v, want 11?233??", i, f)
				}
			},
		},
		{
			name: "increment data",
			args: GeneratorArgs{IDMode: "100", LenMode: "8", DataMode: "i"},
			check: func(t *testing.T, i int, f can.Frame) {
				if got := binary.LittleEndian.Uint64(f.Payload()); got != uint64(i) {
					t.Errorf("frame %d data %X, want the counter %d", i, f.Payload(), i)
				}
			},
		},
		{
			name: "increment data has at least one byte",
			args: GeneratorArgs{LenMode: "0", DataMode: "i"},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.Len != 1 || f.Data[0] != byte(i) {
					t.Errorf("frame %d = %v, want 1 byte %02X", i, f, byte(i))
				}
			},
		},
		{
			name: "increment length, classic",
			args: GeneratorArgs{LenMode: "i"},
			check: func(t *testing.T, i int, f can.Frame) {
				if want := uint8(i % 9); f.Len != want {
					t.Errorf("frame %d len %d, want %d", i, f.Len, want)
				}
			},
		},
		{
			name: "increment length, FD",
			args: GeneratorArgs{LenMode: "i", FD: true},
			check: func(t *testing.T, i int, f can.Frame) {
				if want := fdLens[i%16]; f.Len != want {
					t.Errorf("frame %d len %d, want %d", i, f.Len, want)
				}
			},
		},
		{
			name: "random length, classic",
			args: GeneratorArgs{},
			check: func(t *testing.T, i int, f can.Frame) {
				if f.Len > 8 || f.FD || f.Extended || f.Remote {
					t.Errorf("frame %d = %v, want a classic data frame", i, f)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, f := range frames(t, tt.args, 7, 40) {
				tt.check(t, i, f)
			}
		})
	}
}

// TestGeneratorRandomness checks that random modes do vary, and that
// random classic lengths are 8 for about half the frames, as in cangen.
func TestGeneratorRandomness(t *testing.T) {
	ids, nib, eights := map[uint32]bool{}, map[byte]bool{}, 0
	for _, f := range frames(t, GeneratorArgs{}, 1, 1000) {
		ids[f.ID] = true
		if f.Len == 8 {
			eights++
		}
	}
	for _, f := range frames(t, GeneratorArgs{DataMode: "11x233xx"}, 1, 100) {
		nib[f.Data[1]>>4] = true
	}
	if len(ids) < 500 {
		t.Errorf("%d distinct ids in 1000 random ones", len(ids))
	}
	if len(nib) != 16 {
		t.Errorf("the x nibble took %d values, want all 16", len(nib))
	}
	if eights < 400 || eights > 600 {
		t.Errorf("%d of 1000 random lengths are 8, want about half", eights)
	}
}

func TestGeneratorMix(t *testing.T) {
	var ext, fd, brs, rtr, classic int
	for _, f := range frames(t, GeneratorArgs{Mix: true, IDMode: "i", LenMode: "i"}, 3, 400) {
		switch {
		case f.Remote:
			rtr++
		case f.FD:
			fd++
		default:
			classic++
		}
		if f.Extended {
			ext++
		}
		if f.BRS {
			brs++
		}
	}
	for name, n := range map[string]int{"extended": ext, "fd": fd, "brs": brs, "remote": rtr, "classic": classic} {
		if n < 20 {
			t.Errorf("mix made %d %s frames of 400", n, name)
		}
	}
}

func TestGeneratorSeed(t *testing.T) {
	a := GeneratorArgs{Mix: true}
	x, y := frames(t, a, 42, 200), frames(t, a, 42, 200)
	if !slices.Equal(x, y) {
		t.Error("the same seed gave different frames")
	}
	if z := frames(t, a, 43, 200); slices.Equal(x, z) {
		t.Error("different seeds gave the same frames")
	}
}

func TestParseGenConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    GeneratorArgs
		wantErr bool
	}{
		{name: "defaults", args: GeneratorArgs{}},
		{name: "all modes", args: GeneratorArgs{IDMode: "i", LenMode: "i", DataMode: "i"}},
		{name: "fixed extended id", args: GeneratorArgs{IDMode: "1FFFFFFF", Extended: true}},
		{name: "standard id above 7FF", args: GeneratorArgs{IDMode: "800"}, wantErr: true},
		{name: "id above 29 bits", args: GeneratorArgs{IDMode: "20000000", Extended: true}, wantErr: true},
		{name: "id not hex", args: GeneratorArgs{IDMode: "xyz"}, wantErr: true},
		{name: "id too long", args: GeneratorArgs{IDMode: "000000001"}, wantErr: true},
		{name: "len not a number", args: GeneratorArgs{LenMode: "q"}, wantErr: true},
		{name: "len above 64", args: GeneratorArgs{LenMode: "65", FD: true}, wantErr: true},
		{name: "classic len above 8", args: GeneratorArgs{LenMode: "9"}, wantErr: true},
		{name: "FD len 64", args: GeneratorArgs{LenMode: "64", FD: true}},
		{name: "data odd digits", args: GeneratorArgs{DataMode: "123"}, wantErr: true},
		{name: "data bad digit", args: GeneratorArgs{DataMode: "12G4"}, wantErr: true},
		{name: "data over 64 bytes", args: GeneratorArgs{FD: true, DataMode: string(make([]byte, 130))}, wantErr: true},
		{name: "classic data over 8 bytes", args: GeneratorArgs{DataMode: "112233445566778899"}, wantErr: true},
		{name: "FD data over 8 bytes", args: GeneratorArgs{FD: true, DataMode: "112233445566778899"}},
		{name: "remote FD", args: GeneratorArgs{RTR: true, FD: true}, wantErr: true},
		{name: "remote with mix", args: GeneratorArgs{RTR: true, Mix: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseGenConfig(&tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
