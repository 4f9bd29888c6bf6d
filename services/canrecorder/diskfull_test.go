package canrecorder

import (
	"os"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

// TestDiskFullFrames: on a full disk (/dev/full answers every write
// with ENOSPC) nothing reaches the file, so stats must not report the
// frames as written: frames counts what is in the file, as bytes does.
func TestDiskFullFrames(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	off := false
	s, err := New(Args{Path: "/dev/full", Autostart: &off})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Initialize(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(testCtx(t)) })
	for i := range 10 {
		s.write(can.Received{Time: time.Unix(1, 0), Frame: can.Frame{ID: uint32(0x100 + i), Len: 1}})
	}
	st, err := s.Stats(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors == 0 {
		t.Errorf("no error on a full disk: %+v", st)
	}
	if st.Frames != 0 || st.Bytes != 0 {
		t.Errorf("stats report %d frames, %d bytes written to a full disk; want 0, 0", st.Frames, st.Bytes)
	}
}
