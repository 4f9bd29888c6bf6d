package integration

import (
	"os"
	"testing"

	"github.com/bgkit/bgkit/spawn"
)

func TestMain(m *testing.M) {
	spawn.Register(NewCounterService)
	spawn.Main()
	os.Exit(m.Run())
}
