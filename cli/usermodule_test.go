package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// userMain is the main package of a team's own bgkit: the built-in kinds,
// one of its own, and cli.Main — the three lines of DESIGN.md.
const userMain = `package main

import (
	"context"
	"log/slog"

	"github.com/bgkit/bgkit/cli"
	"github.com/bgkit/bgkit/services"
	"github.com/bgkit/bgkit/spawn"
)

type GreeterArgs struct {
	Greeting string ` + "`" + `json:"greeting" validate:"required"` + "`" + `
}

type GreeterService struct{ args GreeterArgs }

func NewGreeterService(args GreeterArgs) (*GreeterService, error) {
	return &GreeterService{args: args}, nil
}

func (s *GreeterService) Initialize(context.Context) error {
	slog.Info("greeter ready", "greeting", s.args.Greeting)
	return nil
}

func (s *GreeterService) Shutdown(context.Context) error { return nil }

func (s *GreeterService) Greet(_ context.Context, name string) (string, error) {
	return s.args.Greeting + ", " + name, nil
}

func main() {
	services.RegisterAll()
	spawn.RegisterKind("my-kind", NewGreeterService)
	cli.Main()
}
`

// userGoMod is the go.mod of the user's module: bgkit replaced by this
// repository, and bgkit's own requirements listed (as go mod tidy would),
// so that the build needs nothing beyond the module cache.
func userGoMod(t *testing.T, root string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("module example.com/myrig\n\ngo 1.26.0\n\nrequire github.com/bgkit/bgkit v0.0.0\n\nrequire (\n")
	for _, m := range regexp.MustCompile(`(?m)^\t(\S+ v\S+)`).FindAllStringSubmatch(string(src), -1) {
		b.WriteString("\t" + m[1] + " // indirect\n")
	}
	b.WriteString(")\n\nreplace github.com/bgkit/bgkit => " + root + "\n")
	return b.String()
}

// offlineBuildMissing reports whether a build failed for want of modules
// (no network, a module cache without them) rather than for the code.
func offlineBuildMissing(out string) bool {
	for _, s := range []string{"module lookup disabled", "missing go.sum entry", "cannot find module", "no required module provides", `executable file not found`} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// TestUserModuleOwnKind builds a team's own bgkit in a module of its own
// (bgkit replaced by this repository, offline: the module cache only), runs
// its own kind from a rig file with up, calls it, and stops up with
// SIGTERM: exit status 0.
func TestUserModuleOwnKind(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a user module")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"go.mod":  userGoMod(t, root),
		"go.sum":  string(sum),
		"main.go": userMain,
		"rig.yaml": "services:\n  - kind: my-kind\n    args: {greeting: Hello}\n" +
			"  - kind: ecu-sim\n    args: {bus: \"virtual:um\"}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "myrig")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		if offlineBuildMissing(string(out)) {
			t.Skipf("cannot build a user module offline here (modules missing from the cache): %v\n%s", err, out)
		}
		t.Fatalf("build the user module: %v\n%s", err, out)
	}

	up := startUp(t, bin, "up", "--no-color", filepath.Join(dir, "rig.yaml"))
	up.waitLog(t, "greeter ready")
	up.waitLog(t, "rig up")
	if out, code := up.run(t, "call", "GREETER_SERVICE", "greet", `"Ada"`); code != 0 || strings.TrimSpace(out) != `"Hello, Ada"` {
		t.Fatalf("call GREETER_SERVICE greet: exit %d, %q", code, out)
	}
	if out, code := up.run(t, "kinds", "my-kind"); code != 0 || !strings.Contains(out, "greeting") {
		t.Fatalf("kinds my-kind: exit %d, %q", code, out)
	}
	if code := up.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("up after SIGTERM: exit %d", code)
	}
}
