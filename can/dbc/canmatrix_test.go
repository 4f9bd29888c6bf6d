package dbc_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bgkit/bgkit/can/dbc"
)

// canmatrixScript encodes, with canmatrix, each integer signal of each
// message of a DBC alone (its multiplexer set to its value), with a raw
// bit pattern cut to its width, and prints the payloads as JSON.
const canmatrixScript = `
import sys, json
import canmatrix.formats
db = list(canmatrix.formats.loadp(sys.argv[1]).values())[0]
out = []
for f in db.frames:
    for s in f.signals:
        if s.is_float:
            continue
        bits = s.size - (1 if s.is_signed else 0)
        raw = 0xA5C396F01E875B2D & ((1 << bits) - 1)
        vals = {o.name: 0 for o in f.signals}
        vals[s.name] = raw
        if s.multiplex not in (None, 'Multiplexor'):
            for o in f.signals:
                if o.multiplex == 'Multiplexor':
                    vals[o.name] = s.multiplex
        out.append({"message": f.name, "signal": s.name, "raw": raw, "data": bytes(f.encode(vals)).hex()})
print(json.dumps(out))
`

// TestCanmatrixLayouts compares the bit layout of every integer signal of
// the test DBCs and examples/car.dbc with canmatrix's (the Debian package
// python3-canmatrix). It is skipped when canmatrix is not installed.
func TestCanmatrixLayouts(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import canmatrix.formats").Run(); err != nil {
		t.Skipf("canmatrix is not installed (apt-get install python3-canmatrix): %v", err)
	}
	script := filepath.Join(t.TempDir(), "layouts.py")
	if err := os.WriteFile(script, []byte(canmatrixScript), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.dbc"))
	files = append(files, filepath.Join("..", "..", "examples", "car.dbc"))
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out, err := exec.Command(py, script, file).Output()
			if err != nil {
				t.Fatalf("canmatrix: %v", err)
			}
			var cases []struct {
				Message, Signal, Data string
				Raw                   uint64
			}
			if err := json.Unmarshal(out, &cases); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			db, err := dbc.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(cases) == 0 {
				t.Skip("no integer signals")
			}
			for _, c := range cases {
				m, ok := db.Message(c.Message)
				if !ok {
					t.Fatalf("no message %s", c.Message)
				}
				s, ok := m.Signal(c.Signal)
				if !ok {
					t.Fatalf("no signal %s.%s", c.Message, c.Signal)
				}
				want, _ := hex.DecodeString(c.Data)
				got := make([]byte, len(want))
				if s.Multiplexed {
					m.Multiplexer().SetRaw(got, s.MuxValue)
				}
				s.SetRaw(got, c.Raw)
				if hex.EncodeToString(got) != c.Data {
					t.Errorf("%s.%s raw %#x: ours %x, canmatrix %s", c.Message, c.Signal, c.Raw, got, c.Data)
				}
				if r := s.Raw(want); r != c.Raw {
					t.Errorf("%s.%s: we read %#x from canmatrix's %s, want %#x", c.Message, c.Signal, r, c.Data, c.Raw)
				}
			}
			t.Logf("%d signals agree with canmatrix", len(cases))
		})
	}
}
