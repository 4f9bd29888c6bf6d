package backlog

import (
	"testing"

	"go.uber.org/goleak"
)

// No producer goroutine of a test outlives it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
