package cli

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bgkit/bgkit/bus"
)

// readmeCommand is one bgkit command of the README's quick start.
type readmeCommand struct {
	line string   // as written
	args []string // after "bgkit"
	exit int      // the documented exit status: "# exit N" in its comment, else 0
}

var exitComment = regexp.MustCompile(`#\s*exit (\d+)`)

// readmeQuickStart returns the bgkit commands of the README's Quick start
// section: the lines of its sh blocks that start with "bgkit " (or
// "$ bgkit "), in order.
func readmeQuickStart(t *testing.T) []readmeCommand {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no Quick start section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var cmds []readmeCommand
	inSh := false
	for line := range strings.Lines(section) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
			continue
		case !inSh:
			continue
		}
		cmdline := strings.TrimPrefix(line, "$ ")
		if !strings.HasPrefix(cmdline, "bgkit ") {
			continue
		}
		c := readmeCommand{line: line}
		code, comment, _ := strings.Cut(cmdline, "#")
		if m := exitComment.FindStringSubmatch("#" + comment); m != nil {
			c.exit, _ = strconv.Atoi(m[1])
		}
		c.args = strings.Fields(code)[1:]
		cmds = append(cmds, c)
	}
	if len(cmds) < 3 || cmds[0].args[0] != "up" {
		t.Fatalf("README quick start: want bgkit up, then other commands; found %+v", cmds)
	}
	return cmds
}

// TestReadmeQuickStart runs the README's quick start as written against a
// built bgkit: up with the demo rig, each later command with up's NATS_URL
// and its documented exit status, logs until its first record and then
// Ctrl-C (exit 0), and finally Ctrl-C to up: exit 0.
func TestReadmeQuickStart(t *testing.T) {
	cmds := readmeQuickStart(t)
	bin := readmeInstall(t)
	// Run in a directory of its own: the demo's recorder writes its log
	// to the working directory.
	dir := t.TempDir()
	demo, err := os.ReadFile(filepath.Join("..", "examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "examples"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "examples", "demo.yaml"), demo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	up := startUp(t, bin, cmds[0].args...)
	up.waitLog(t, "rig up")
	for _, c := range cmds[1:] {
		t.Logf("$ %s", c.line)
		if c.args[0] == "logs" || c.args[0] == "events" {
			var poke func()
			if c.args[0] == "events" {
				poke = lifePoker(t, up.url, c.args)
			}
			if code := readmeFollow(t, bin, up.env, c.args, poke); code != c.exit {
				t.Fatalf("%s: exit %d after Ctrl-C, README says %d", c.line, code, c.exit)
			}
			continue
		}
		out, code := up.run(t, c.args...)
		if code != c.exit {
			t.Fatalf("%s: exit %d, README says %d\n%s", c.line, code, c.exit, out)
		}
	}
	if code := up.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("%s: exit %d after Ctrl-C, README says 0", cmds[0].line, code)
	}
}

// lifePoker returns a func that publishes a lifecycle event for the
// service named in `events` args (as a parent would), so that the command
// has something to print.
func lifePoker(t *testing.T, url string, args []string) func() {
	t.Helper()
	b, err := bus.Connect(t.Context(), url, bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	name := "ECU_SIM_SERVICE"
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			name = a
			break
		}
	}
	return func() {
		data, _ := json.Marshal(bus.LifeEvent{Event: bus.LifeStarted, Name: name, Time: time.Now()})
		b.Conn().Publish(bus.LifeSubject(name), data)
	}
}

// readmeFollow runs a following command until it prints its first line
// (calling poke, if not nil, every 100 ms meanwhile), then interrupts it
// as Ctrl-C does and returns its exit status.
func readmeFollow(t *testing.T, bin string, env []string, args []string, poke func()) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first <- sc.Scan()
		for sc.Scan() {
		}
	}()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case ok := <-first:
			if !ok {
				cmd.Wait()
				t.Fatalf("bgkit %s printed nothing", strings.Join(args, " "))
			}
			break wait
		case <-tick.C:
			if poke != nil {
				poke()
			}
		case <-deadline:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("bgkit %s printed nothing in 60 s", strings.Join(args, " "))
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// readmeInstall installs bgkit as the README's quick start says — make
// bgkit, here into a directory of the test's instead of ./bin — and
// returns its path. Without make it falls back to go build.
func readmeInstall(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\nmake bgkit && export PATH=$PWD/bin:$PATH") {
		t.Fatal("README quick start does not install bgkit with make bgkit")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Logf("no make (%v): go build instead", err)
		return buildBgkit(t)
	}
	dir := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "bgkit", "BIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make bgkit: %v\n%s", err, out)
	}
	return filepath.Join(dir, "bgkit")
}
