package bgkittest_test

import (
	"testing"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/spawn"
)

func TestMain(m *testing.M) {
	spawn.Register(NewProbeService)
	spawn.Register(NewGreeterService)
	bgkittest.Main(m)
}

// TestGreeter runs the package example's test.
func TestGreeter(t *testing.T) { testGreeter(t) }
