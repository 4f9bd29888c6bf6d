package canrecorder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/service"

	"github.com/bgkit/bgkit/bgkittest"
)

func TestDefaultName(t *testing.T) {
	svc, err := New(Args{Path: "x.log"})
	if err != nil {
		t.Fatal(err)
	}
	if got := service.DeriveName(fmt.Sprintf("%T", svc)); got != DefaultName || DefaultName != "CAN_RECORDER_SERVICE" {
		t.Errorf("derived %q, DefaultName %q", got, DefaultName)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		args      Args
		wantErr   string
		wantIface string
	}{
		{name: "defaults", args: Args{Path: "x.log"}, wantIface: "bus0"},
		{name: "socketcan", args: Args{Path: "x.log", Bus: "socketcan:vcan1"}, wantIface: "vcan1"},
		{name: "interface", args: Args{Path: "x.log", Interface: "can3"}, wantIface: "can3"},
		{name: "filters", args: Args{Path: "x.log", Filters: []string{"123:7FF", "~200:700"}}, wantIface: "bus0"},
		{name: "no path", args: Args{}, wantErr: "path"},
		{name: "bad bus", args: Args{Path: "x.log", Bus: "bus0"}, wantErr: "bus"},
		{name: "bad filter", args: Args{Path: "x.log", Filters: []string{"123:7FF", "123"}}, wantErr: "filters[1]"},
		{name: "interface with space", args: Args{Path: "x.log", Interface: "can 0"}, wantErr: "interface"},
		{name: "interface with a control character", args: Args{Path: "x.log", Interface: "a\x01b"}, wantErr: "interface"},
		{name: "interface with DEL", args: Args{Path: "x.log", Interface: "a\x7fb"}, wantErr: "interface"},
		{name: "interface too long", args: Args{Path: "x.log", Interface: strings.Repeat("x", maxInterface+1)}, wantErr: "interface"},
		{name: "interface longest", args: Args{Path: "x.log", Interface: strings.Repeat("x", maxInterface)}, wantIface: strings.Repeat("x", maxInterface)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.args)
			if (err != nil) != (tt.wantErr != "") {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr != "")
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if s.iface != tt.wantIface || !*s.args.Autostart {
				t.Errorf("interface %q autostart %v, want %q and true", s.iface, *s.args.Autostart, tt.wantIface)
			}
		})
	}
}

// TestRecord: the file holds exactly the frames sent, in order, in
// candump's format, and stats agree with it.
func TestRecord(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	path := filepath.Join(t.TempDir(), "rec.log")
	s := serve(t, b, Args{Path: path})
	sent := mustFrames(t, "123#DEADBEEF", "1ABCDEF0#", "7DF#R8", "456##1112233445566778899", "000#00", "7FF##2")
	for i := range 200 {
		sent = append(sent, can.Frame{ID: uint32(i), Len: 2, Data: [64]byte{byte(i), byte(i >> 8)}})
	}
	send(t, node, sent...)
	if err := s.c.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	got := readLog(t, path)
	if !slices.Equal(frameList(got), sent) {
		t.Fatalf("recorded %d frames, sent %d; first recorded %v", len(got), len(sent), frameList(got)[:min(3, len(got))])
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\(\d{10}\.\d{6}\) bus0 ([0-9A-F]{3}|[0-9A-F]{8})##?[0-9A-FR]*$`)
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("line %d %q is not a candump -l line", i+1, l)
		}
	}
	if first := strings.SplitN(string(data), "\n", 2)[0]; !strings.HasSuffix(first, " bus0 123#DEADBEEF") {
		t.Errorf("first line %q", first)
	}
	st, err := s.c.Stats(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != uint64(len(sent)) || st.Bytes != uint64(len(data)) || st.Path != path || st.Running || st.Errors != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v; file %d bytes, %d frames sent", st, len(data), len(sent))
	}
}

// TestFilters: only the frames that pass a filter are recorded.
func TestFilters(t *testing.T) {
	frames := mustFrames(t, "123#01", "124#02", "00000123#03", "1ABCDEF0#04", "1ABCDEF1#05", "200#06", "2FF#07", "300#08", "123#R")
	tests := []struct {
		name    string
		filters []string
		want    []string
	}{
		{name: "id and mask", filters: []string{"123:7FF"}, want: []string{"123#01", "00000123#03", "123#R"}},
		{name: "standard only", filters: []string{"123:C00007FF"}, want: []string{"123#01"}},
		{name: "extended", filters: []string{"1ABCDEF0:1FFFFFFF"}, want: []string{"1ABCDEF0#04"}},
		{name: "extended with flag", filters: []string{"1ABCDEF0:9FFFFFF0"}, want: []string{"1ABCDEF0#04", "1ABCDEF1#05"}},
		{name: "inverted", filters: []string{"200~700"}, want: []string{"123#01", "124#02", "00000123#03", "1ABCDEF0#04", "1ABCDEF1#05", "300#08", "123#R"}},
		{name: "inverted prefix", filters: []string{"~200:F00"}, want: []string{"123#01", "124#02", "00000123#03", "1ABCDEF0#04", "1ABCDEF1#05", "300#08", "123#R"}},
		{name: "any of several", filters: []string{"124:7FF", "300:7FF"}, want: []string{"124#02", "300#08"}},
	}
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.log")
			s := serve(t, b, Args{Path: path, Filters: tt.filters})
			send(t, node, frames...)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range frameList(readLog(t, path)) {
				got = append(got, f.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("recorded %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStopStart: frames sent while stopped are not recorded; those sent
// after start are, in the same file. Without autostart nothing is
// recorded before start.
func TestStopStart(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	path := filepath.Join(t.TempDir(), "rec.log")
	s := serve(t, b, Args{Path: path, Autostart: new(false)})
	ctx := testCtx(t)
	batch := func(n int) []can.Frame {
		return mustFrames(t, fmt.Sprintf("%03X#01", n), fmt.Sprintf("%03X#02", n))
	}
	if st, _ := s.c.Stats(ctx); st.Running {
		t.Fatal("running before start")
	}
	send(t, node, batch(1)...)
	for range 2 {
		if err := s.c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.c.Stats(ctx); !st.Running {
		t.Fatal("not running after start")
	}
	send(t, node, batch(2)...)
	for range 2 {
		if err := s.c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(t, node, batch(3)...)
	if err := s.c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	send(t, node, batch(4)...)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	want := append(batch(2), batch(4)...)
	if got := frameList(readLog(t, path)); !slices.Equal(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}

// TestShutdownFlush: every frame the bus delivered before Shutdown is in
// the file when it returns, though Shutdown came right after the sends.
func TestShutdownFlush(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	path := filepath.Join(t.TempDir(), "rec.log")
	s := serve(t, b, Args{Path: path})
	const n = 20000
	sent := make([]can.Frame, n)
	for i := range sent {
		sent[i] = can.Frame{ID: uint32(i % 0x800), Len: 4, Data: [64]byte{byte(i), byte(i >> 8), byte(i >> 16)}}
	}
	send(t, node, sent...)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	got := frameList(readLog(t, path))
	if len(got) != n {
		t.Fatalf("the file holds %d frames of %d", len(got), n)
	}
	if !slices.Equal(got, sent) {
		t.Error("the frames in the file differ from those sent")
	}
}

// TestAppend: append keeps what the file held; otherwise it is truncated.
func TestAppend(t *testing.T) {
	b := bgkittest.Bus(t)
	node := openNode(t, b)
	dir := t.TempDir()
	old := "(1436509052.249713) can0 7E0#01\n"
	for _, app := range []bool{false, true} {
		t.Run(fmt.Sprint("append ", app), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(app, ".log"))
			if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			s := serve(t, b, Args{Path: path, Append: app, Interface: "can0", Nanoseconds: true})
			send(t, node, mustFrames(t, "7E8#02")...)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			want := 1
			if app {
				want = 2
				if lines[0]+"\n" != old {
					t.Errorf("first line %q, want the old one", lines[0])
				}
			}
			last := lines[len(lines)-1]
			if len(lines) != want || !regexp.MustCompile(`^\(\d{10}\.\d{9}\) can0 7E8#02$`).MatchString(last) {
				t.Errorf("file %q", data)
			}
		})
	}
}

// TestInitializeError: a file that cannot be created fails the start.
func TestInitializeError(t *testing.T) {
	b := bgkittest.Bus(t)
	svc, err := New(Args{Path: filepath.Join(t.TempDir(), "no", "such", "dir.log")})
	if err != nil {
		t.Fatal(err)
	}
	err = service.Run(testCtx(t), b, svc)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run = %v, want a missing directory", err)
	}
}
