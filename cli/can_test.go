package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
)

func TestCANUsage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no subcommand", []string{"can"}, 2, "can needs dump or send"},
		{"unknown subcommand", []string{"can", "frob"}, 2, `unknown subcommand "frob"`},
		{"help", []string{"can", "--help"}, 0, "bgkit can dump [--dbc F]"},
		{"help can", []string{"help", "can"}, 0, "bgkit can send BUS FRAME"},
		{"dump help", []string{"can", "dump", "--help"}, 0, "-dbc"},
		{"send help", []string{"can", "send", "--help"}, 0, "(cansend syntax)"},
		{"dump no bus", []string{"can", "dump"}, 2, "can dump takes one BUS"},
		{"dump two buses", []string{"can", "dump", "virtual:a", "virtual:b"}, 2, "can dump takes one BUS"},
		{"dump bad spec", []string{"can", "dump", "serial:x"}, 2, "serial"},
		{"dump negative n", []string{"can", "dump", "-n", "-1", "virtual:bus0"}, 2, "-n -1"},
		{"dump missing dbc", []string{"can", "dump", "--dbc", "nope.dbc", "virtual:bus0"}, 1, "nope.dbc"},
		{"dump no NATS", []string{"can", "dump", "virtual:bus0"}, 2, "no bus"},
		{"send one arg", []string{"can", "send", "virtual:bus0"}, 2, "can send takes BUS and FRAME"},
		{"send bad frame", []string{"can", "send", "virtual:bus0", "123#ZZ"}, 2, "can send:"},
		{"send invalid frame", []string{"can", "send", "virtual:bus0", "800#00"}, 2, "can send:"},
		{"send no NATS", []string{"can", "send", "virtual:bus0", "123#00"}, 2, "no bus"},
		{"send bad flag", []string{"can", "send", "--nope", "virtual:bus0", "123#00"}, 2, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NATS_URL", "")
			out, errOut, code := runCLI(t, ctx, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errOut, tc.want)
			}
		})
	}
}

// TestCANDumpSend dumps a virtual bus with the example DBC while can send
// puts two frames on it: one of a DBC message, decoded, and one not.
func TestCANDumpSend(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Start(ctx, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cr := b.Credentials()
	conn := []string{"--server", cr.URL, "--user", cr.User, "--password", cr.Password}

	stdout := &lineWriter{lines: make(chan string, 10)}
	stderr := &lineWriter{lines: make(chan string, 10)}
	dumpDone := make(chan error, 1)
	go func() {
		args := append([]string{"can", "dump", "--dbc", "../examples/car.dbc", "-n", "2"}, conn...)
		dumpDone <- run(ctx, append(args, "virtual:cli0"), stdout, stderr)
	}()
	waitLine(t, stderr.lines, "bgkit can dump: listening on virtual:cli0")

	for _, fr := range []string{"3C0#500A0000", "123#DEADBEEF"} {
		out, errOut, code := runCLI(t, ctx, append(append([]string{"can", "send"}, conn...), "virtual:cli0", fr)...)
		if code != 0 {
			t.Fatalf("can send %s: exit %d\n%s%s", fr, code, out, errOut)
		}
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^\(\d{10}\.\d{6}\) cli0 3C0#500A0000 :: Ignition\(IgnitionState: On, KeyIn: 1, OutsideTemp: 20 degC\)$`),
		regexp.MustCompile(`^\(\d{10}\.\d{6}\) cli0 123#DEADBEEF$`),
	}
	for _, re := range want {
		select {
		case l := <-stdout.lines:
			if !re.MatchString(l) {
				t.Errorf("line %q does not match %s", l, re)
			}
		case <-ctx.Done():
			t.Fatal("no dump line")
		}
	}
	if err := <-dumpDone; err != nil {
		t.Errorf("dump: %v", err)
	}
}

// TestCANRestbusRigLoads checks the rest-bus example rig against the
// kinds' argument types.
func TestCANRestbusRigLoads(t *testing.T) {
	if _, err := loadRig(filepath.Join("..", "examples", "restbus.yaml")); err != nil {
		t.Fatal(err)
	}
}
