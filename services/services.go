package services

import (
	"sync"

	"github.com/bgkit/bgkit/services/canmonitor"
	"github.com/bgkit/bgkit/services/canrecorder"
	"github.com/bgkit/bgkit/services/cantraffic"
	"github.com/bgkit/bgkit/services/diagtraffic"
	"github.com/bgkit/bgkit/services/ecusim"
	"github.com/bgkit/bgkit/services/ecuwatchdog"
	"github.com/bgkit/bgkit/services/testerpresent"
)

var once sync.Once

// RegisterAll registers every built-in service kind with spawn. It may be
// called more than once.
func RegisterAll() {
	once.Do(func() {
		testerpresent.Register()
		cantraffic.Register()
		canrecorder.Register()
		ecusim.Register()
		canmonitor.Register()
		ecuwatchdog.Register()
		diagtraffic.Register()
	})
}
