package goplugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestThroughPipe: a regular file is replaced by a pipe whose writes reach
// it; anything else is left as it is.
func TestThroughPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stderr")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	f := file
	restore := throughPipe(&f)
	if f == file {
		t.Fatal("a regular file was left in place")
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the replacement is not a pipe: %v, %v", fi.Mode(), err)
	}
	if err := f.Sync(); err == nil {
		t.Error("Sync on the pipe succeeded: go-plugin's would still be an fsync")
	}
	if _, err := f.WriteString("through the pipe\n"); err != nil {
		t.Fatal(err)
	}
	// More than a pipe holds (64 KiB), written before restore: the copy
	// keeps up, and restore waits for the end of it.
	big := strings.Repeat("x", 1<<20)
	if _, err := f.WriteString(big); err != nil {
		t.Fatal(err)
	}
	restore()
	if f != file {
		t.Fatal("restore did not put the file back")
	}
	if got, _ := os.ReadFile(path); string(got) != "through the pipe\n"+big {
		t.Fatalf("the file holds %d bytes, want %d", len(got), len("through the pipe\n")+len(big))
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	p := w
	throughPipe(&p)()
	if p != w {
		t.Fatal("a pipe was replaced")
	}
}
