package cli_test

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/bgkit/bgkit/cli"
	"github.com/bgkit/bgkit/services"
	"github.com/bgkit/bgkit/spawn"
)

// GreeterArgs and GreeterService are a team's own service; usually they
// live in a package of their own (mypkg.NewGreeterService).
type GreeterArgs struct {
	Greeting string `json:"greeting" validate:"required"`
}

type GreeterService struct{ args GreeterArgs }

func NewGreeterService(args GreeterArgs) (*GreeterService, error) {
	return &GreeterService{args: args}, nil
}

func (s *GreeterService) Initialize(context.Context) error { return nil }
func (s *GreeterService) Shutdown(context.Context) error   { return nil }

// Greet is the endpoint svc.GREETER_SERVICE.greet.
func (s *GreeterService) Greet(_ context.Context, name string) (string, error) {
	return s.args.Greeting + ", " + name, nil
}

// A team's own bgkit is this main: the built-in kinds, its own, and the
// command line. `bgkit up rig.yaml` then runs a rig file with
// "kind: greeter" entries, and `bgkit kinds greeter` documents it.
func ExampleMain() {
	main := func() {
		services.RegisterAll()
		spawn.RegisterKind("greeter", NewGreeterService)
		cli.Main() // calls spawn.Main first; never returns
	}
	_ = main // in a real binary: func main() { ... } as above
}

// Run is the command line in-process: the error of a bad command line is
// a usage error (exit status 2 from Main).
func ExampleRun() {
	err := cli.Run(context.Background(), []string{"call", "ECU_SIM_SERVICE"}, os.Stdout, io.Discard)
	fmt.Println(err)
	// Output:
	// call takes NAME, method and an optional JSON input
}
