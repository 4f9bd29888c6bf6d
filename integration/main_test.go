package integration

import (
	"os"
	"strconv"
	"testing"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/services"
	"github.com/bgkit/bgkit/spawn"
)

func TestMain(m *testing.M) {
	spawn.RegisterKind("counter", NewCounterService)
	services.RegisterAll()
	spawn.Main()
	if spec := os.Getenv(distributedEnv); spec != "" {
		distributedHelper(spec)
	}
	if url := os.Getenv(rawResponderEnv); url != "" {
		rawResponder(url)
	}
	if n, err := strconv.Atoi(os.Getenv(helperParentEnv)); err == nil {
		helperParent(n)
	}
	bgkittest.Main(m)
}
