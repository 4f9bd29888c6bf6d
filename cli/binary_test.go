package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var bgkitBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// buildBgkit builds cmd/bgkit once per test binary and returns its path.
func buildBgkit(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bgkitBinary.once.Do(func() {
		bgkitBinary.dir, bgkitBinary.err = os.MkdirTemp("", "bgkit-cli-test")
		if bgkitBinary.err != nil {
			return
		}
		bgkitBinary.path = filepath.Join(bgkitBinary.dir, "bgkit")
		build := exec.Command("go", "build", "-o", bgkitBinary.path, "../cmd/bgkit")
		bgkitBinary.out, bgkitBinary.err = build.CombinedOutput()
	})
	if bgkitBinary.err != nil {
		t.Fatalf("build bgkit: %v\n%s", bgkitBinary.err, bgkitBinary.out)
	}
	return bgkitBinary.path
}

// removeBgkitBinary removes what buildBgkit built; TestMain calls it.
func removeBgkitBinary() {
	if bgkitBinary.dir != "" {
		os.RemoveAll(bgkitBinary.dir)
	}
}

// upProcess is a running `bgkit up` (or `run`) of a built binary.
type upProcess struct {
	bin  string
	cmd  *exec.Cmd
	env  []string      // the environment with NATS_URL for other commands
	url  string        // NATS_URL
	logs chan string   // stderr lines
	done chan struct{} // closed when stderr reached EOF
}

// startUp starts bin with args (an up or run command), waits for its
// NATS_URL line and kills it at cleanup if the test did not stop it.
func startUp(t *testing.T, bin string, args ...string) *upProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	u := &upProcess{bin: bin, cmd: cmd, logs: make(chan string, 10000), done: make(chan struct{})}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		defer close(u.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case u.logs <- sc.Text():
			default:
			}
		}
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "NATS_URL=") {
			t.Fatalf("%s: first line %q, want NATS_URL=...", strings.Join(args, " "), l)
		}
		u.url = strings.TrimPrefix(l, "NATS_URL=")
		u.env = append(os.Environ(), l)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s printed no NATS_URL line", strings.Join(args, " "))
	}
	return u
}

// waitLog waits for a stderr line containing s and returns it.
func (u *upProcess) waitLog(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l := <-u.logs:
			if strings.Contains(l, s) {
				return l
			}
		case <-u.done:
			t.Fatalf("stderr ended before a line with %q", s)
		case <-timeout:
			t.Fatalf("no stderr line with %q", s)
		}
	}
}

// run runs another command of the binary with up's NATS_URL and returns
// its combined output and exit status.
func (u *upProcess) run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runBinary(t, u.bin, u.env, args...)
}

// runBinary runs bin with args in env; it returns the combined output and
// the exit status.
func runBinary(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

// stop sends sig and returns the exit status (-1 for death by a signal).
func (u *upProcess) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := u.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		<-u.done // stderr drained: Wait may close the pipes
		exited <- u.cmd.Wait()
	}()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatalf("did not exit within 60 s of %v", sig)
		return -1
	}
}
